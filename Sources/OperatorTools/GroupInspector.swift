import Kafka
import Logging
import ServiceRuntime

/// Reads a group's committed offsets and the topic's watermarks without joining the group.
package struct GroupInspector {
    let consumer: KafkaConsumer
    package let topic: String

    package init(bootstrapServers: String, groupID: String, topic: String, properties: [String: String] = [:], logger: Logger) throws {
        let values = KafkaClientProperties.inspector(bootstrapServers: bootstrapServers, passthrough: properties, groupID: groupID)
        consumer = try KafkaConsumer(properties: KafkaProperties(values), logger: logger)
        self.topic = topic
    }

    package func status(timeoutMs: Int32 = 10_000) throws -> [PartitionStatus] {
        let count = try consumer.partitionCount(topic: topic, timeoutMs: timeoutMs)
        let partitions = (0..<count).map { TopicPartition(topic: topic, partition: $0) }
        let committed = try consumer.committed(partitions, timeoutMs: timeoutMs)
        var result: [PartitionStatus] = []
        for item in committed {
            let marks = try consumer.queryWatermarks(item.topicPartition, timeoutMs: timeoutMs)
            result.append(
                PartitionStatus(
                    partition: item.topicPartition.partition, committed: item.offset >= 0 ? item.offset : nil,
                    low: marks.low, high: marks.high))
        }
        return result.sorted { $0.partition < $1.partition }
    }

    /// Whether every partition's committed offset reached its high watermark.
    package func isCaughtUp(timeoutMs: Int32 = 10_000) throws -> Bool {
        try status(timeoutMs: timeoutMs).allSatisfy { $0.high == 0 || ($0.committed ?? -1) >= $0.high }
    }
}
