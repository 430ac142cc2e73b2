import Synchronization

/// An async semaphore: at most `limit` holders at once, waiters served in order.
///
/// A lock, not an actor: a permit under the limit is taken without suspending, so a call costs
/// no executor hops (the actor took three per call: acquire, back from the body, release).
final class ConcurrencyLimiter: Sendable {
    private struct State {
        var holders = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func acquire() async {
        let taken = state.withLock { state in
            guard state.holders < limit else { return false }
            state.holders += 1
            return true
        }
        if taken { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                // A release may have come in between: take the permit at once then.
                if state.holders < limit {
                    state.holders += 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiters.count else {
                state.holders -= 1
                return nil
            }
            // The permit passes to the first waiter; `holders` stays the same.
            let next = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head >= 1024, state.head * 2 >= state.waiters.count {
                state.waiters.removeFirst(state.head)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }

    /// Runs `body` while holding a permit.
    func withPermit<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await acquire()
        let result = await body()
        release()
        return result
    }
}
