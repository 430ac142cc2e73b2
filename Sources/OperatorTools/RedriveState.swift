import Synchronization

/// The redrive's running counts, shared by concurrent work.
final class RedriveState: Sendable {
    private let value = Mutex(DeadLetterRedrive.Summary())

    func update(_ body: (inout DeadLetterRedrive.Summary) -> Void) {
        value.withLock { body(&$0) }
    }

    var summary: DeadLetterRedrive.Summary { value.withLock { $0 } }
}
