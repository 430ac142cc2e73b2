import Engine
import Synchronization

/// The first of three endings of one destination call: its answer, its deadline, or the caller's
/// cancellation. Whoever finishes first decides what the caller gets.
final class CallRace: Sendable {
    enum Ending: Sendable {
        case answered([ErasureOutcome])
        case timedOut
        case cancelled
    }

    private struct State {
        var ending: Ending?
        var waiter: CheckedContinuation<Ending, Never>?
    }

    private let state = Mutex(State())

    /// Records `ending` if none came first, runs `onWin` and then wakes the waiter. Returns `nil`
    /// when it won, else the ending that did.
    func finish(_ ending: Ending, onWin: () -> Void = {}) -> Ending? {
        let (winner, waiter) = state.withLock { state -> (Ending?, CheckedContinuation<Ending, Never>?) in
            if let first = state.ending { return (first, nil) }
            state.ending = ending
            defer { state.waiter = nil }
            return (nil, state.waiter)
        }
        if let winner { return winner }
        onWin()
        waiter?.resume(returning: ending)
        return nil
    }

    /// Waits for the first ending.
    func wait() async -> Ending {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Ending? in
                if let ending = state.ending { return ending }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
