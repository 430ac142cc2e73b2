/// What happens to committable offsets at one moment (see ``CommitPolicy``).
package struct CommitRule: Equatable, Sendable {
    /// How the offsets are committed right away.
    package enum Attempts: Equatable, Sendable {
        /// Not now: librdkafka commits the stored offsets (its timer, or close as it unassigns).
        case none
        /// One attempt, waiting at most this long for the broker.
        case once(within: Duration)
        /// Retriable failures are tried again (see ``CommitPolicy/retries(after:)``), all within
        /// the first duration, the second apart.
        case retried(within: Duration, every: Duration)
    }

    /// Whether the offsets are stored (for librdkafka's own commits).
    package var store: Bool
    package var commit: Attempts

    package init(store: Bool, commit: Attempts) {
        self.store = store
        self.commit = commit
    }
}
