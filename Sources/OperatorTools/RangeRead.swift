import Kafka
import ServiceRuntime

/// The one loop over fixed offset ranges of a topic, without group membership (manual
/// assignment): assigns each partition at its start, hands out every record in `[start, end)`
/// once, in offset order per partition, and knows when every range is read. Throws when no record
/// at all arrives for `stallTimeout`. ``TopicReader/read(ranges:stallTimeout:_:)`` and
/// ``FiniteConsumption`` drive it.
struct RangeRead {
    let consumer: KafkaConsumer
    let topic: String
    let stallTimeout: Duration
    /// The ranges not read to their end yet.
    private(set) var remaining: [Int32: (start: Int64, end: Int64)]
    private var lastProgress: ContinuousClock.Instant

    /// Assigns the partitions with something to read (none when every range is empty).
    init(consumer: KafkaConsumer, topic: String, ranges: [Int32: (start: Int64, end: Int64)], stallTimeout: Duration) throws {
        self.consumer = consumer
        self.topic = topic
        self.stallTimeout = stallTimeout
        remaining = ranges.filter { $0.value.end > $0.value.start }
        if !remaining.isEmpty {
            try consumer.assign(remaining.map { TopicPartitionOffset(TopicPartition(topic: topic, partition: $0.key), offset: $0.value.start) })
        }
        lastProgress = .now
    }

    /// Every range is read.
    var isFinished: Bool { remaining.isEmpty }

    /// The next record in range; `nil` when a poll of `pollTimeoutMs` brought none.
    mutating func next(pollTimeoutMs: Int32) throws -> KafkaMessage? {
        while true {
            guard let message = try consumer.poll(timeoutMs: pollTimeoutMs) else {
                if ContinuousClock.now - lastProgress > stallTimeout {
                    throw ServiceError("no records from \(topic) for \(stallTimeout); partitions left: \(remaining.keys.sorted())")
                }
                return nil
            }
            lastProgress = .now
            let partition = message.topicPartition.partition
            guard let range = remaining[partition], message.offset < range.end else { continue }
            if message.offset + 1 >= range.end { remaining.removeValue(forKey: partition) }
            return message
        }
    }
}
