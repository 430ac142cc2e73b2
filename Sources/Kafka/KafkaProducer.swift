import CRdKafka
import Logging

/// An idempotent producer (acks=all) whose `send` returns once the broker acknowledged the record.
///
/// `Sendable`: every property is immutable and `Sendable`; the client's calls are thread-safe.
package final class KafkaProducer: Sendable {
    let client: RDKafkaClient
    private let pollThread: KafkaThread

    /// Defaults that make delivery reports mean "durably written"; `properties` override them.
    package static let defaultProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "5",
        "message.timeout.ms": "30000",
    ]

    package init(properties: KafkaProperties, logger: Logger) throws(KafkaError) {
        let merged = KafkaProperties(KafkaProducer.defaultProperties).merging(properties.values)
        let client = try RDKafkaClient(kind: .producer, properties: merged, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let box = Unmanaged<DeliveryBox>.fromOpaque(opaque).takeRetainedValue()
                let raw = message.pointee
                if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let topic = String(cString: rd_kafka_topic_name(raw.rkt))
                    box.resume(.success(TopicPartitionOffset(TopicPartition(topic: topic, partition: raw.partition), offset: raw.offset)))
                } else {
                    box.resume(.failure(KafkaError(raw.err, context: "delivery")))
                }
            }
        }
        self.client = client
        pollThread = KafkaThread.start(name: "kafka-producer-poll") { thread in
            while !thread.isStopped {
                rd_kafka_poll(client.handle, 50)
            }
        }
    }

    deinit {
        pollThread.stop()
    }

    /// Sends one record and waits for the broker's acknowledgement.
    /// - Parameters:
    ///   - partition: a fixed partition, or `nil` to let the partitioner pick by key.
    ///   - timestamp: milliseconds since the epoch, or `nil` for now.
    @discardableResult
    package func send(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]? = nil,
        partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws(KafkaError) -> TopicPartitionOffset {
        let result: Result<TopicPartitionOffset, KafkaError> = await withCheckedContinuation { continuation in
            let box = DeliveryBox(continuation)
            let opaque = Unmanaged.passRetained(box).toOpaque()
            let err = produce(topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: timestamp, opaque: opaque)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                Unmanaged<DeliveryBox>.fromOpaque(opaque).release()
                continuation.resume(returning: .failure(KafkaError(err, context: "produce")))
            }
        }
        return try result.get()
    }

    /// Queues one record without waiting for its acknowledgement (bulk loads: benchmarks, tools).
    /// Returns `false` when librdkafka's local queue is full: wait a little and try again.
    /// Delivery failures are not reported; ``flush(timeoutMs:)`` waits for the queue to empty.
    package func enqueue(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]? = nil, partition: Int32? = nil
    ) throws(KafkaError) -> Bool {
        let err = produce(topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: nil, opaque: nil)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
        if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { return false }
        throw KafkaError(err, context: "produce")
    }

    /// Waits until every queued record was delivered or failed, up to `timeoutMs`.
    package func flush(timeoutMs: Int32) throws(KafkaError) {
        let err = rd_kafka_flush(client.handle, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "flush") }
    }

    /// Stops the polling thread; pending deliveries still complete on `flush`.
    package func shutdown() {
        pollThread.stop()
    }

    /// The fatal error librdkafka raised for this producer, if any (idempotence broken: every
    /// later send fails; the producer must be replaced, i.e. the service restarted).
    package var fatalError: KafkaError? { client.context.fatalErrorSeen }

    /// Raises a fatal error on purpose (librdkafka's test hook), for tests of the service's reaction.
    package func raiseFatalErrorForTesting() {
        _ = rd_kafka_test_fatal_error(client.handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "raised by a test")
    }

    /// Partition count of a topic.
    package func partitionCount(topic: String, timeoutMs: Int32) throws(KafkaError) -> Int32 {
        try client.partitionCount(topic: topic, timeoutMs: timeoutMs)
    }
}

extension KafkaProducer {
    /// Hands one record to librdkafka (payloads copied). Headers pass to librdkafka on success and
    /// are destroyed here on failure.
    fileprivate func produce(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]?, partition: Int32?, timestamp: Int64?,
        opaque: UnsafeMutableRawPointer?
    ) -> rd_kafka_resp_err_t {
        var hdrs: OpaquePointer?
        if let headers {
            hdrs = rd_kafka_headers_new(headers.count)
            for header in headers {
                if let value = header.value {
                    value.withUnsafeBytes { _ = rd_kafka_header_add(hdrs, header.name, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(hdrs, header.name, -1, nil, 0)
                }
            }
        }
        let err = withOptionalBytes(key) { keyPtr, keyLen in
            withOptionalBytes(value) { valuePtr, valueLen in
                crdk_produce(
                    client.handle, topic, partition ?? Int32(RD_KAFKA_PARTITION_UA), keyPtr, keyLen,
                    valuePtr, valueLen, hdrs, timestamp ?? 0, opaque)
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs { rd_kafka_headers_destroy(hdrs) }
        return err
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
}
