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
