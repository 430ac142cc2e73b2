import Synchronization

/// An async semaphore: at most `limit` holders at once, waiters served in order.
///
/// A lock, not an actor: a permit under the limit is taken without suspending, so a call under
/// the limit costs no executor hop (an actor would cost one to acquire and one to release).
final class ConcurrencyLimiter: Sendable {
    private struct State {
        var holders = 0
        /// Waiters in arrival order, by ticket; a cancelled waiter is removed from here.
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var order: [UInt64] = []
        var head = 0
        var nextTicket: UInt64 = 0
        var cancelledBeforeWaiting: Set<UInt64> = []
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes a permit, waiting in order when none is free. Throws `CancellationError` when the
    /// task is cancelled while waiting (it then holds no permit).
    func acquire() async throws {
        let ticket: UInt64? = state.withLock { state in
            if state.holders < limit {
                state.holders += 1
                return nil
            }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Bool, CancellationError> = state.withLock { state in
                    if state.cancelledBeforeWaiting.remove(ticket) != nil { return .failure(CancellationError()) }
                    // A release may have come in between: take the permit at once then.
                    if state.holders < limit {
                        state.holders += 1
                        return .success(true)
                    }
                    state.waiters[ticket] = continuation
                    state.order.append(ticket)
                    return .success(false)
                }
                switch outcome {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let waiter = state.waiters.removeValue(forKey: ticket) else {
                    state.cancelledBeforeWaiting.insert(ticket)
                    return nil
                }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Takes a permit when one is free now (no waiter is then queued: waiters only queue at the
    /// limit); `false`, taking nothing, when none is.
    func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.holders < limit else { return false }
            state.holders += 1
            return true
        }
    }

    /// Gives a permit back; it passes to the longest waiter still waiting.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            while state.head < state.order.count {
                let ticket = state.order[state.head]
                state.head += 1
                if let waiter = state.waiters.removeValue(forKey: ticket) {
                    compact(&state)
                    // The permit passes on; `holders` stays the same.
                    return waiter
                }
            }
            compact(&state)
            state.holders -= 1
            return nil
        }
        next?.resume()
    }

    private func compact(_ state: inout State) {
        if state.head == state.order.count {
            state.order.removeAll(keepingCapacity: true)
            state.head = 0
        } else if state.head >= 1024, state.head * 2 >= state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
