import Dispatch
import Synchronization

/// The result code of a C call running on a helper thread, waited for with a timeout: the caller
/// gives up waiting without cancelling the call.
package final class BlockingCall: Sendable {
    private let result = Mutex<Int32?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Records the call's result; the helper thread calls it once.
    package func finish(_ code: Int32) {
        result.withLock { $0 = code }
        done.signal()
    }

    /// The result, or `nil` when the call had not returned within `timeout`.
    package func wait(timeout: Duration) -> Int32? {
        let parts = max(timeout, .zero).components
        let nanoseconds = parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
        guard done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else { return nil }
        return result.withLock { $0 }
    }
}
