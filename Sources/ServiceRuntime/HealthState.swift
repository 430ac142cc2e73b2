import Engine
import Synchronization

/// What `/healthz` and `/readyz` answer from: the poll loop's heartbeat, group membership and
/// the destinations' configuration state.
package final class HealthState: Sendable {
    private struct Inner {
        var lastPoll = ContinuousClock.now
        var member = false
        var stopping = false
        var failure: String?
    }

    private let inner = Mutex(Inner())
    package let destinations: DestinationHealth
    /// The poll loop counts as stuck after this long without a turn.
    package let pollStallLimit: Duration

    package init(destinations: DestinationHealth, pollStallLimit: Duration) {
        self.destinations = destinations
        self.pollStallLimit = pollStallLimit
    }

    func pollTicked() {
        inner.withLock { $0.lastPoll = .now }
    }

    func setMember(_ member: Bool) {
        inner.withLock { $0.member = member }
    }

    func setStopping() {
        inner.withLock { $0.stopping = true }
    }

    /// The service cannot go on (a fatal Kafka error): readiness turns false with `reason` while it
    /// drains and exits non-zero.
    func setFailed(_ reason: String) {
        inner.withLock { $0.failure = $0.failure ?? reason }
    }

    /// Alive: the poll loop turned recently.
    package var isAlive: Bool {
        inner.withLock { ContinuousClock.now - $0.lastPoll < pollStallLimit }
    }

    /// Ready: a group member, not stopping, and no destination in configuration error.
    /// Returns the reasons it is not, empty when ready.
    package var notReadyReasons: [String] {
        var reasons: [String] = []
        let state = inner.withLock { $0 }
        if let failure = state.failure { reasons.append("failed: \(failure)") }
        if !state.member { reasons.append("not a member of the consumer group yet") }
        if state.stopping { reasons.append("shutting down") }
        for (name, reason) in destinations.configurationErrors.sorted(by: { $0.key < $1.key }) {
            reasons.append("destination \(name) in configuration error: \(reason)")
        }
        return reasons
    }
}
