import Foundation
import Synchronization

/// A named OS thread for librdkafka's blocking calls (polls, close, offsets requests), which must
/// never run on Swift's cooperative pool. The service's consumer poll loop, the
/// producer's, the fetch waker and the consumer's close each run on one. The body checks
/// ``isStopped`` between blocking calls where it has no stop signal of its own.
package final class KafkaThread: Sendable {
    private let stopped = Atomic<Bool>(false)

    private init() {}

    /// Starts `body` on a new thread named `name`; `body` is handed this thread, to check
    /// ``isStopped``.
    @discardableResult
    package static func start(name: String, _ body: @escaping @Sendable (KafkaThread) -> Void) -> KafkaThread {
        let handle = KafkaThread()
        let thread = Thread { body(handle) }
        thread.name = name
        thread.start()
        return handle
    }

    /// Runs one blocking C call on a new thread named `name` and returns at once; wait for its
    /// result code with ``BlockingCall/wait(timeout:)``.
    package static func call(name: String, _ body: @escaping @Sendable () -> Int32) -> BlockingCall {
        let call = BlockingCall()
        start(name: name) { _ in call.finish(body()) }
        return call
    }

    /// Whether ``stop()`` was called.
    package var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Asks the body to end after its current blocking call.
    package func stop() {
        stopped.store(true, ordering: .releasing)
    }
}
