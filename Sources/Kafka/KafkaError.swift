import CRdKafka

/// An error from librdkafka or from this wrapper, keeping librdkafka's error code.
package struct KafkaError: Error, Sendable, CustomStringConvertible, Equatable {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative codes are client-side, positive are broker codes).
    package let code: Int32
    /// librdkafka's name for the code, such as `REQUEST_TIMED_OUT`.
    package let name: String
    /// A human-readable explanation; never contains message payloads.
    package let message: String
    /// The client instance cannot be used any more.
    package let isFatal: Bool
    /// The same operation may succeed if tried again.
    package let isRetriable: Bool

    package init(code: Int32, message: String, isFatal: Bool = false, isRetriable: Bool = false) {
        self.code = code
        self.name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code)))
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable || KafkaError.retriableCodes.contains(code)
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        let text = String(cString: rd_kafka_err2str(err))
        self.init(code: err.rawValue, message: "\(context): \(text)")
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, context: String) {
        let code = rd_kafka_error_code(error).rawValue
        let text = String(cString: rd_kafka_error_string(error))
        let fatal = rd_kafka_error_is_fatal(error) != 0
        let retriable = rd_kafka_error_is_retriable(error) != 0
        rd_kafka_error_destroy(error)
        self.init(code: code, message: "\(context): \(text)", isFatal: fatal, isRetriable: retriable)
    }

    /// A configuration problem found by this wrapper or by `rd_kafka_conf_set`.
    package static func configuration(_ message: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, message: message)
    }

    package var description: String { "\(name) (\(code)): \(message)" }

    /// Codes that are worth retrying even when librdkafka does not flag them.
    static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
        RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS.rawValue,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue,
    ]
}

extension KafkaError {
    /// librdkafka's code for "message size too large", as seen on produce.
    package static let messageSizeTooLarge: Int32 = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
    /// The code librdkafka uses when no offset is committed or known.
    package static let invalidOffset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)
}
