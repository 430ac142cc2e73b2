import Foundation

/// Thread-safe counts of replay and redrive outcomes.
///
/// `@unchecked Sendable`: `values` is read and written only under `lock` (an `NSLock`: its key
/// paths are not `Sendable`, so a `Mutex` cannot hold them).
final class OutcomeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [PartialKeyPath<Replay.Summary>: Int] = [:]

    func add(_ key: WritableKeyPath<Replay.Summary, Int>) {
        lock.lock()
        values[key, default: 0] += 1
        lock.unlock()
    }

    func fill(_ summary: inout Replay.Summary) {
        lock.lock()
        defer { lock.unlock() }
        for (key, value) in values {
            if let writable = key as? WritableKeyPath<Replay.Summary, Int> { summary[keyPath: writable] = value }
        }
    }
}
