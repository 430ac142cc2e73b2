import Kafka
import Logging
import ServiceRuntime

/// Reads a topic's records between given offsets without joining a group (manual assignment):
/// the basis of `dlq list`, `replay --dry-run` and the demo's summary.
package struct TopicReader {
    let consumer: KafkaConsumer
    package let topic: String

    package init(bootstrapServers: String, topic: String, properties: [String: String] = [:], groupID: String, logger: Logger) throws {
        let values = KafkaClientProperties.reader(bootstrapServers: bootstrapServers, passthrough: properties, groupID: groupID)
        consumer = try KafkaConsumer(properties: KafkaProperties(values), logger: logger)
        self.topic = topic
    }

    /// Low and high watermarks of every partition.
    package func watermarks(timeoutMs: Int32 = 10_000) throws -> [Int32: (low: Int64, high: Int64)] {
        let count = try consumer.partitionCount(topic: topic, timeoutMs: timeoutMs)
        var result: [Int32: (Int64, Int64)] = [:]
        for partition in 0..<count {
            result[partition] = try consumer.queryWatermarks(TopicPartition(topic: topic, partition: partition), timeoutMs: timeoutMs)
        }
        return result
    }

    /// Committed offsets of a group (nil when none), for the given partitions.
    package func committed(_ partitions: [Int32], timeoutMs: Int32 = 10_000) throws -> [Int32: Int64] {
        let rows = try consumer.committed(partitions.map { TopicPartition(topic: topic, partition: $0) }, timeoutMs: timeoutMs)
        var result: [Int32: Int64] = [:]
        for row in rows where row.offset >= 0 { result[row.topicPartition.partition] = row.offset }
        return result
    }

    /// Calls `body` for every record in `[start, end)` per partition, in offset order per partition.
    /// Returns when every range was read. Throws if no progress is made for `stallTimeout`.
    package func read(
        ranges: [Int32: (start: Int64, end: Int64)], stallTimeout: Duration = .seconds(60), _ body: (KafkaMessage) throws -> Void
    ) throws {
        var reading = try RangeRead(consumer: consumer, topic: topic, ranges: ranges, stallTimeout: stallTimeout)
        while !reading.isFinished {
            if let message = try reading.next(pollTimeoutMs: 200) { try body(message) }
        }
    }
}
