import ConfigFile
import Engine

extension ServiceConfiguration {
    /// `processing:` (docs/contract.md#config-processing). Each key is read with its default and
    /// range at its field; the rules between keys are in ``ServiceConfiguration/validate(_:)``.
    package struct ProcessingSection: Sendable {
        package var maxInFlight: Int
        /// Events taken and not done across all partitions (`max_buffered`, default 4 × max_in_flight).
        package var maxBuffered: Int
        package var maxBufferedPerPartition: Int
        /// Offsets taken but not committable, per partition, before the partition is paused.
        package var maxUncommittedPerPartition: Int
        /// `processing.retry.*`.
        package var retry: RetryPolicy
        package var shutdownGrace: Duration
        /// How long a revoked partition's in-flight work may finish before it is abandoned.
        package var revokeGrace: Duration
        /// How often a destination in configuration error is retried.
        package var configurationErrorRetryInterval: Duration
        /// Values larger than this are bad input (`too_large`).
        package var maxEventBytes: Int
        /// The deadline of every destination call (`call_timeout`).
        package var callTimeout: Duration
        /// An event unfinished for longer is logged at WARNING (once per event).
        package var stuckEventWarning: Duration
        /// How long an offset commit in a revoke or at shutdown may wait for the broker.
        package var commitTimeout: Duration
        /// Receipts waiting to be written before new ones are dropped (and counted).
        package var receiptQueueSize: Int

        /// Reads `processing:` (an empty reader when the section is absent: every default).
        package init(reader p: SettingsReader) {
            maxInFlight = p.int("max_in_flight", default: 1000, range: 1...1_000_000)
            maxBuffered = p.int("max_buffered", default: 4 * maxInFlight, range: 1...10_000_000)
            maxBufferedPerPartition = p.int("max_buffered_per_partition", default: maxBuffered, range: 1...10_000_000)
            retry = Self.readRetry(p.sectionOrEmpty("retry"))
            shutdownGrace = p.duration("shutdown_grace", default: .seconds(20))
            revokeGrace = p.duration("revoke_grace", default: .seconds(5))
            configurationErrorRetryInterval = p.duration(
                "configuration_error_retry_interval", default: .seconds(30), minimum: .milliseconds(10))
            maxEventBytes = p.int("max_event_bytes", default: 64 * 1024, range: 256...100_000_000)
            callTimeout = p.duration("call_timeout", default: .seconds(30), minimum: .milliseconds(10))
            maxUncommittedPerPartition = p.int(
                "max_uncommitted_per_partition", default: max(10_000, maxBufferedPerPartition), range: 1...100_000_000)
            stuckEventWarning = p.duration("stuck_event_warning", default: .seconds(300), minimum: .seconds(1))
            commitTimeout = p.duration("commit_timeout", default: .seconds(5), minimum: .milliseconds(100))
            receiptQueueSize = p.int("receipt_queue_size", default: 10_000, range: 1...10_000_000)
            p.finish()
        }

        /// `processing.retry:`.
        static func readRetry(_ r: SettingsReader) -> RetryPolicy {
            let retry = RetryPolicy(
                initialBackoff: r.duration("initial_backoff", default: .seconds(1), minimum: .milliseconds(1)),
                maxBackoff: r.duration("max_backoff", default: .seconds(300), minimum: .milliseconds(1)),
                maxAttempts: r.int("max_attempts", default: 10, range: 1...1_000_000),
                maxRetryAfter: r.duration("max_retry_after", default: .seconds(3600)))
            r.finish()
            return retry
        }

        /// The dispatch engine's settings: the engine is built from this, never field by field.
        package var dispatchConfiguration: DispatchConfiguration {
            DispatchConfiguration(
                maxInFlight: maxInFlight, maxBufferedPerPartition: maxBufferedPerPartition, maxBufferedTotal: maxBuffered,
                maxUncommittedPerPartition: maxUncommittedPerPartition, stuckEventWarning: stuckEventWarning)
        }
    }
}
