import CRdKafka

/// A consumed record, copied out of librdkafka's buffers: the key and the value once each, the
/// headers packed into one buffer (``KafkaHeaders``), the topic name shared between records.
package struct KafkaMessage: Sendable {
    package var topicPartition: TopicPartition
    package var offset: Int64
    package var key: [UInt8]?
    package var value: [UInt8]?
    /// `nil` when the record has no headers at all.
    package var headers: KafkaHeaders?
    /// Milliseconds since the epoch, when the record has a timestamp.
    package var timestamp: Int64?

    package init(
        topicPartition: TopicPartition, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader]?, timestamp: Int64?
    ) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers.map(KafkaHeaders.init)
        self.timestamp = timestamp
    }

    /// Copies a message out of librdkafka; the caller still destroys `pointer`.
    init(copying pointer: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: RDKafkaTopicNames) {
        let raw = pointer.pointee
        self.topicPartition = TopicPartition(topic: topicNames.name(of: raw.rkt), partition: raw.partition)
        self.offset = raw.offset
        self.key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        self.value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var type = rd_kafka_timestamp_type_t(0)
        let ts = rd_kafka_message_timestamp(pointer, &type)
        self.timestamp = ts >= 0 ? ts : nil
        var list: OpaquePointer?
        if rd_kafka_message_headers(pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            self.headers = KafkaHeaders(copying: list)
        } else {
            self.headers = nil
        }
    }

    /// The first header with this name, decoded as UTF-8.
    package func header(_ name: String) -> String? {
        headers?.value(named: name).map { String(decoding: $0, as: UTF8.self) }
    }
}
