import Engine
import Kafka

extension InboundRecord {
    /// The engine's view of a consumed record; key, value and packed headers are shared, not copied.
    package init(_ message: KafkaMessage) {
        self.init(
            partition: PartitionID(topic: message.topicPartition.topic, partition: message.topicPartition.partition),
            offset: message.offset, key: message.key, value: message.value, headers: message.headers,
            timestamp: message.timestamp)
    }
}

extension KafkaHeaders: RecordHeaderLookup {
    package func headerValue(named name: String) -> [UInt8]? {
        value(named: name).map(Array.init)
    }

    package var allHeaders: [RecordHeader] {
        all.map { RecordHeader(name: $0.name, value: $0.value) }
    }
}
