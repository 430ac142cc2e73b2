import Synchronization

/// A thread-safe on/off flag for polling threads.
final class RunningFlag: Sendable {
    private let running = Atomic<Bool>(true)

    var isRunning: Bool { running.load(ordering: .acquiring) }

    func stop() {
        running.store(false, ordering: .releasing)
    }
}
