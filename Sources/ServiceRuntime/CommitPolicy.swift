import Engine
import Kafka

/// When consumed offsets become Kafka commits: the one place that says it (the commit rule of
/// docs/contract.md#done). ``ConsumerService`` and the tools' ``FiniteConsumption`` act on it;
/// neither decides on its own.
///
/// - **Committable**: per partition, the first offset taken and not yet done
///   (``OffsetTracker/committable``), so a commit never passes an unfinished event.
/// - **Work finished** (service): the new committable offset is *stored*; librdkafka commits what
///   is stored every ``storedOffsetsCommitInterval`` (`auto.commit.interval.ms`).
/// - **Revoke** (service, a rebalance): store, then one commit attempt within `commit_timeout`.
///   The coordinator refuses commits while the group rebalances; retrying would hold it up.
/// - **Revoke served by close** (service, leaving): store only. Close commits the stored offsets
///   as it unassigns; no commit is sent once close began (``KafkaConsumer`` refuses it: in
///   librdkafka 2.0.2 a commit reaching a group its close already ended aborts the process).
/// - **Shutdown** (service, before close): store and commit, retrying retriable failures every
///   ``retryInterval`` within `commit_timeout`, except `REBALANCE_IN_PROGRESS`: that rebalance
///   waits for this member's close, so no retry can succeed before it.
/// - **Tools** (`replay`, `dlq redrive`: manual assignment, no auto-commit): commit the
///   committable offsets every ``toolProgressInterval`` and once at the end.
package enum CommitPolicy {
    /// When an offset may be committed, in the service.
    package enum Moment: Sendable {
        case workFinished, revoke, revokeInClose, shutdown
    }

    /// How often librdkafka commits the stored offsets (`auto.commit.interval.ms`).
    package static let storedOffsetsCommitInterval = Duration.milliseconds(200)
    /// ``storedOffsetsCommitInterval`` as the value of `auto.commit.interval.ms`.
    package static var autoCommitIntervalProperty: String {
        let parts = storedOffsetsCommitInterval.components
        return String(parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }
    /// How often the tools commit their progress (and once more at the end).
    package static let toolProgressInterval = Duration.seconds(1)
    /// The pause between two attempts of a retried commit.
    package static let retryInterval = Duration.milliseconds(200)

    /// What the service does with the committable offsets at `moment`.
    package static func rule(for moment: Moment, commitTimeout: Duration) -> CommitRule {
        switch moment {
        case .workFinished: CommitRule(store: true, commit: .none)
        case .revoke: CommitRule(store: true, commit: .once(within: commitTimeout))
        case .revokeInClose: CommitRule(store: true, commit: .none)
        case .shutdown: CommitRule(store: true, commit: .retried(within: commitTimeout, every: retryInterval))
        }
    }

    /// Whether a commit that failed with `error` is tried again (under a `.retried` rule).
    package static func retries(after error: KafkaError) -> Bool {
        error.isRetriable && error.code != KafkaError.Code.rebalanceInProgress
    }

    /// The engine's committable offsets as Kafka offsets to store or commit.
    package static func offsets(_ committable: [PartitionID: Int64]) -> [TopicPartitionOffset] {
        committable.map { TopicPartitionOffset(TopicPartition(topic: $0.key.topic, partition: $0.key.partition), offset: $0.value) }
    }

    /// The tools' progress: the committable offset of every partition of `topic` that has one.
    package static func offsets(_ trackers: [Int32: OffsetTracker], topic: String) -> [TopicPartitionOffset] {
        trackers.compactMap { partition, tracker in
            tracker.committable.map { TopicPartitionOffset(TopicPartition(topic: topic, partition: partition), offset: $0) }
        }
    }
}
