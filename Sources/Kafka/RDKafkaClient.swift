import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` handle and its context; internal to the wrapper.
///
/// `@unchecked Sendable`: both properties are immutable; the handle is an `OpaquePointer` (not
/// `Sendable`) to a librdkafka client, whose calls are thread-safe.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let context: RDKafkaClientContext

    enum Kind { case consumer, producer }

    /// Creates a client from properties. The log, error and statistics callbacks are routed to
    /// `logger` and the context; `configure` may add kind-specific callbacks to the conf.
    init(
        kind: Kind, properties: KafkaProperties, logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let context = RDKafkaClientContext(logger: logger)
        let conf = try properties.makeConf()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buffer in
            guard let rk, let context = RDKafkaClientContext.from(rd_kafka_opaque(rk)) else { return }
            let text = buffer.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            let swiftLevel: Logger.Level
            switch level {
            case 0...3: swiftLevel = .error
            case 4: swiftLevel = .warning
            case 5, 6: swiftLevel = .info
            default: swiftLevel = .debug
            }
            context.logger.log(level: swiftLevel, "librdkafka: \(text)", metadata: ["facility": "\(fac)"])
        }
        rd_kafka_conf_set_error_cb(conf) { rk, err, reason, opaque in
            guard let context = RDKafkaClientContext.from(opaque) else { return }
            let text = reason.map { String(cString: $0) } ?? ""
            if err == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
                var buffer = [CChar](repeating: 0, count: 512)
                let code = rd_kafka_fatal_error(rk, &buffer, buffer.count)
                let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                context.recordFatal(KafkaError(code: code.rawValue, message: message, isFatal: true))
                context.logger.error("librdkafka fatal error", metadata: ["error": "\(message)"])
            } else {
                context.logger.warning("librdkafka error", metadata: ["code": "\(err)", "error": "\(text)"])
            }
        }
        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            guard let context = RDKafkaClientContext.from(opaque), let json, let handler = context.statisticsHandler else {
                return 0
            }
            let text = String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
            handler(text)
            return 0
        }
        configure(conf)
        var errbuf = [CChar](repeating: 0, count: 512)
        let type = kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER
        guard let handle = rd_kafka_new(type, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            let text = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError.configuration("cannot create Kafka client: \(text)")
        }
        self.handle = handle
        self.context = context
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Low and high watermarks of a partition, asked of the broker.
    func queryWatermarks(_ tp: TopicPartition, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "watermarks of \(tp)") }
        return (low, high)
    }

    /// Whether librdkafka has seen records past the consume position of any of these partitions,
    /// from the high watermarks of its last fetch responses. Local calls only: no request, no
    /// wait on librdkafka's other threads.
    func hasUnconsumedRecords(_ partitions: [TopicPartition]) -> Bool {
        guard !partitions.isEmpty else { return false }
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard rd_kafka_position(handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return false }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            // No position yet: nothing consumed from it, so nothing says it is behind.
            guard element.offset >= 0 else { continue }
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(handle, element.topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR
            else { continue }
            if high > element.offset { return true }
        }
        return false
    }

    /// Sends one offsets request per leader of these partitions (at most `timeoutMs`) and ignores
    /// the answer: the request wakes each leader's broker thread (see ``FetchWaker``).
    func wakeLeaders(of partitions: [TopicPartition], timeoutMs: Int32) {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList.make(partitions.map { TopicPartitionOffset($0, offset: -1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_offsets_for_times(handle, list, timeoutMs)
    }

    /// The number of partitions of a topic from the broker's metadata.
    func partitionCount(topic: String, timeoutMs: Int32) throws(KafkaError) -> Int32 {
        guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError.configuration("cannot create a topic handle for \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, rkt, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, context: "metadata of \(topic)") }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { throw KafkaError.configuration("topic \(topic) not in metadata") }
        let topicMeta = metadata.pointee.topics[0]
        if topicMeta.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(topicMeta.err, context: "metadata of \(topic)") }
        return topicMeta.partition_cnt
    }

    /// For each partition, the earliest offset whose timestamp is at or after the given time (ms).
    func offsetsForTimes(_ items: [TopicPartitionOffset], timeoutMs: Int32) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList.make(items)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_for_times(handle, list, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "offsets for times") }
        if let error = RDKafkaTopicPartitionList.firstError(list, context: "offsets for times") { throw error }
        return RDKafkaTopicPartitionList.read(list)
    }
}
