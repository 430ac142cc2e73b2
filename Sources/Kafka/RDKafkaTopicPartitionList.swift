import CRdKafka

/// Conversions to and from `rd_kafka_topic_partition_list_t`; internal to the wrapper.
enum RDKafkaTopicPartitionList {
    /// Creates a list the caller must destroy.
    static func make(_ items: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(items.count, 1)))!
        for item in items {
            let element = rd_kafka_topic_partition_list_add(list, item.topicPartition.topic, item.topicPartition.partition)!
            element.pointee.offset = item.offset
        }
        return list
    }

    static func make(
        _ partitions: [TopicPartition], offset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)
    )
        -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    {
        make(partitions.map { TopicPartitionOffset($0, offset: offset) })
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        var result: [TopicPartitionOffset] = []
        result.reserveCapacity(Int(list.pointee.cnt))
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            let topic = String(cString: element.topic)
            result.append(TopicPartitionOffset(TopicPartition(topic: topic, partition: element.partition), offset: element.offset))
        }
        return result
    }

    /// The first per-partition error in the list, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>, context: String) -> KafkaError? {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let topic = String(cString: element.topic)
                return KafkaError(element.err, context: "\(context) \(topic)[\(element.partition)]")
            }
        }
        return nil
    }
}
