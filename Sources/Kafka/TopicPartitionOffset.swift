/// A partition and an offset (the next offset to consume, as Kafka commits it).
package struct TopicPartitionOffset: Hashable, Sendable {
    package var topicPartition: TopicPartition
    package var offset: Int64

    package init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}
