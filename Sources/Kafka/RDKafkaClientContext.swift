import Foundation
import Logging

/// Callbacks and context shared with librdkafka's C callbacks through the client opaque.
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
    private let fatalLock = NSLock()
    private var fatal: KafkaError?
    private var assignedPartitions: Set<TopicPartition> = []

    /// The partitions assigned now, as the rebalance handler and `assign` left them. Kept here
    /// so the fetch waker never asks librdkafka's main thread (`rd_kafka_assignment` waits for
    /// its answer without a timeout).
    var assigned: [TopicPartition] {
        fatalLock.lock()
        defer { fatalLock.unlock() }
        return Array(assignedPartitions)
    }

    /// Records an assignment change: `replace` for an eager assign (or a manual one), otherwise
    /// added (`adding`) or taken away.
    func updateAssigned(_ partitions: [TopicPartition], replace: Bool = false, adding: Bool) {
        fatalLock.lock()
        defer { fatalLock.unlock() }
        if replace { assignedPartitions = [] }
        if adding { assignedPartitions.formUnion(partitions) } else { assignedPartitions.subtract(partitions) }
    }

    init(logger: Logger) {
        self.logger = logger
    }

    func recordFatal(_ error: KafkaError) {
        fatalLock.lock()
        if fatal == nil { fatal = error }
        fatalLock.unlock()
    }

    var fatalErrorSeen: KafkaError? {
        fatalLock.lock()
        defer { fatalLock.unlock() }
        return fatal
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}
