import Foundation

/// The redrive's running counts, shared by concurrent work.
final class RedriveState: @unchecked Sendable {
    private let lock = NSLock()
    private var value = DeadLetterRedrive.Summary()

    func update(_ body: (inout DeadLetterRedrive.Summary) -> Void) {
        lock.lock()
        body(&value)
        lock.unlock()
    }

    var summary: DeadLetterRedrive.Summary {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
