import Kafka
import Logging
import ServiceRuntime

/// Reads a topic's records between given offsets without joining a group (manual assignment):
/// the basis of `dlq list`, `replay --dry-run` and the demo's summary.
package struct TopicReader {
    let consumer: KafkaConsumer
    package let topic: String

    package init(bootstrapServers: String, topic: String, properties: [String: String] = [:], groupID: String, logger: Logger) throws {
        var values = properties
        values["bootstrap.servers"] = bootstrapServers
        values["group.id"] = groupID
        // A reader is never a member of the service's group.
        values.removeValue(forKey: "group.instance.id")
        values["enable.auto.commit"] = "false"
        values["enable.auto.offset.store"] = "false"
        values["log_level"] = values["log_level"] ?? "3"
        values["fetch.wait.max.ms"] = "50"
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
        var remaining = ranges.filter { $0.value.end > $0.value.start }
        guard !remaining.isEmpty else { return }
        try consumer.assign(remaining.map { TopicPartitionOffset(TopicPartition(topic: topic, partition: $0.key), offset: $0.value.start) })
        var lastProgress = ContinuousClock.now
        while !remaining.isEmpty {
            guard let message = try consumer.poll(timeoutMs: 200) else {
                if ContinuousClock.now - lastProgress > stallTimeout {
                    throw ServiceError("no records from \(topic) for \(stallTimeout); partitions left: \(remaining.keys.sorted())")
                }
                continue
            }
            lastProgress = .now
            let partition = message.topicPartition.partition
            guard let range = remaining[partition], message.offset < range.end else { continue }
            try body(message)
            if message.offset + 1 >= range.end { remaining.removeValue(forKey: partition) }
        }
    }
}
