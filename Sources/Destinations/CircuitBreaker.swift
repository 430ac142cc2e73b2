import Synchronization

/// Stops calling a destination that fails every call, then probes its way back.
///
/// Closed: calls go. After `threshold` consecutive failing calls: open, calls are refused for
/// `openDuration` (doubling up to 16× while probes fail). Then half-open: one probe goes; its
/// success closes the circuit.
package final class CircuitBreaker: Sendable {
    package enum State: Int, Sendable {
        case closed = 0
        case halfOpen = 1
        case open = 2
    }

    private struct Inner {
        var state = State.closed
        var failures = 0
        var openedAt = ContinuousClock.now
        var openFor = Duration.zero
        var probing = false
    }

    private let inner = Mutex(Inner())
    private let threshold: Int
    private let openDuration: Duration
    private let onChange: (@Sendable (State) -> Void)?

    package init(threshold: Int, openDuration: Duration, onChange: (@Sendable (State) -> Void)? = nil) {
        self.threshold = max(1, threshold)
        self.openDuration = openDuration
        self.onChange = onChange
    }

    package var state: State { inner.withLock { $0.state } }

    /// `nil` when a call may go, else how long until the next probe.
    package func permit() -> Duration? {
        var changed: State?
        let wait: Duration? = inner.withLock { s in
            switch s.state {
            case .closed:
                return nil
            case .open:
                let remaining = s.openFor - (ContinuousClock.now - s.openedAt)
                if remaining > .zero { return remaining }
                s.state = .halfOpen
                s.probing = true
                changed = .halfOpen
                return nil
            case .halfOpen:
                if s.probing { return .milliseconds(200) }
                s.probing = true
                return nil
            }
        }
        if let changed { onChange?(changed) }
        return wait
    }

    /// Gives back a permit whose call never went (its caller was cancelled first), so a half-open
    /// circuit lets the next probe go instead of waiting for an answer that will never come.
    package func withdrawPermit() {
        inner.withLock { s in
            if s.state == .halfOpen { s.probing = false }
        }
    }

    /// Records the result of a permitted call.
    package func record(success: Bool) {
        var changed: State?
        inner.withLock { s in
            if success {
                s.failures = 0
                s.probing = false
                if s.state != .closed {
                    s.state = .closed
                    s.openFor = .zero
                    changed = .closed
                }
                return
            }
            s.failures += 1
            switch s.state {
            case .halfOpen:
                s.state = .open
                s.probing = false
                s.openedAt = .now
                s.openFor = min(s.openFor * 2, openDuration * 16)
                changed = .open
            case .closed where s.failures >= threshold:
                s.state = .open
                s.openedAt = .now
                s.openFor = openDuration
                changed = .open
            default:
                break
            }
        }
        if let changed { onChange?(changed) }
    }
}
