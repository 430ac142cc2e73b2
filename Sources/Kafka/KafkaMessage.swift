import CRdKafka

/// A consumed record, copied out of librdkafka's buffers.
package struct KafkaMessage: Sendable {
    package var topicPartition: TopicPartition
    package var offset: Int64
    package var key: [UInt8]?
    package var value: [UInt8]?
    /// `nil` when the record has no headers at all.
    package var headers: [KafkaHeader]?
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
        self.headers = headers
        self.timestamp = timestamp
    }

    /// Copies a message out of librdkafka; the caller still destroys `pointer`.
    init(copying pointer: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = pointer.pointee
        let topic = String(cString: rd_kafka_topic_name(raw.rkt))
        self.topicPartition = TopicPartition(topic: topic, partition: raw.partition)
        self.offset = raw.offset
        self.key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        self.value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var type = rd_kafka_timestamp_type_t(0)
        let ts = rd_kafka_message_timestamp(pointer, &type)
        self.timestamp = ts >= 0 ? ts : nil
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(pointer, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var list: [KafkaHeader] = []
            var index = 0
            while true {
                var name: UnsafePointer<CChar>?
                var value: UnsafeRawPointer?
                var size = 0
                if rd_kafka_header_get_all(hdrs, index, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR { break }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                list.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
            self.headers = list
        } else {
            self.headers = nil
        }
    }

    /// The first header with this name, decoded as UTF-8.
    package func header(_ name: String) -> String? {
        guard let value = headers?.first(where: { $0.name == name })?.value else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
