import Logging
import Synchronization

/// Callbacks and context shared with librdkafka's C callbacks through the client opaque.
///
/// `@unchecked Sendable`: the handler properties and ``cooperative`` are set once, right after
/// the client is created and before anything polls it (librdkafka calls back only from a poll or
/// its own threads after that); everything that changes later is behind `state`.
final class RDKafkaClientContext: @unchecked Sendable {
    let logger: Logger
    /// Runs on the polling thread inside `rd_kafka_consumer_poll`.
    var rebalanceHandler: (@Sendable (RebalanceEvent) -> Void)?
    /// Asked before newly assigned partitions are assigned: explicit start offsets for some of them
    /// (others start from the committed offset).
    var startOffsets: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64])?
    /// Receives librdkafka's statistics JSON (when `statistics.interval.ms` > 0).
    var statisticsHandler: (@Sendable (String) -> Void)?
    /// Receives the result of every offset commit (automatic or explicit); `nil` means success.
    var commitHandler: (@Sendable (KafkaError?, [TopicPartitionOffset]) -> Void)?
    /// Whether the group protocol is cooperative (see ``KafkaConsumer/cooperative``).
    var cooperative = false

    private struct State {
        var fatal: KafkaError?
        var assigned: Set<TopicPartition> = []
        var paused: Set<TopicPartition> = []
    }
    private let state = Mutex(State())

    /// The partitions assigned now, as the rebalance handler and `assign` left them. Kept here
    /// so the fetch waker never asks librdkafka's main thread (`rd_kafka_assignment` waits for
    /// its answer without a timeout).
    var assigned: [TopicPartition] { state.withLock { Array($0.assigned) } }

    /// The assigned partitions that are not paused: those librdkafka fetches.
    var fetching: [TopicPartition] { state.withLock { Array($0.assigned.subtracting($0.paused)) } }

    /// Records an assignment change: `replace` for an eager assign (or a manual one), otherwise
    /// added (`adding`) or taken away. A partition assigned anew starts unpaused.
    func updateAssigned(_ partitions: [TopicPartition], replace: Bool = false, adding: Bool) {
        state.withLock { state in
            if replace {
                state.assigned = []
                state.paused = []
            }
            if adding { state.assigned.formUnion(partitions) } else { state.assigned.subtract(partitions) }
            state.paused.subtract(partitions)
        }
    }

    /// Records a pause or resume.
    func updatePaused(_ partitions: [TopicPartition], paused: Bool) {
        state.withLock { state in
            if paused { state.paused.formUnion(partitions) } else { state.paused.subtract(partitions) }
        }
    }

    init(logger: Logger) {
        self.logger = logger
    }

    func recordFatal(_ error: KafkaError) {
        state.withLock { state in
            if state.fatal == nil { state.fatal = error }
        }
    }

    /// An assign or unassign librdkafka refused inside the rebalance handler. librdkafka's view of
    /// the assignment then differs from the engine's (after a failed unassign it keeps fetching
    /// and moves its position past records nobody processes), so it is fatal: the next poll
    /// throws, the service drains, commits what is done and exits 1.
    func assignmentFailed(_ error: KafkaError) {
        logger.critical("the assignment could not be applied; stopping", metadata: ["error": "\(error)"])
        recordFatal(KafkaError(code: error.code, message: "\(error.message) (assignment change refused)", isFatal: true))
    }

    var fatalErrorSeen: KafkaError? { state.withLock { $0.fatal } }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}
