import CRdKafka
import Logging

/// librdkafka's in-process mock Kafka cluster: real brokers on 127.0.0.1 TCP ports that other
/// clients and processes connect to. It lives as long as this object.
///
/// `@unchecked Sendable`: every property is immutable; `cluster` is an `OpaquePointer` (not
/// `Sendable`) to librdkafka's mock cluster, whose calls are thread-safe.
package final class MockCluster: @unchecked Sendable {
    private let client: RDKafkaClient
    private let cluster: OpaquePointer
    /// `host:port,...` of the mock brokers.
    package let bootstrapServers: String

    /// Starts a cluster with `brokers` brokers (ids 1...brokers).
    package init(brokers: Int32 = 1, logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(kind: .producer, properties: KafkaProperties(["log_level": "3"]), logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, brokers) else {
            throw KafkaError.configuration("cannot start the mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates a topic with a fixed partition count (auto-created topics get 4).
    package func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "create topic \(name)") }
    }

    /// Disconnects a broker (`-1`: all) and refuses new connections until ``setBrokerUp(_:)``.
    package func setBrokerDown(_ brokerID: Int32 = -1) {
        _ = rd_kafka_mock_broker_set_down(cluster, brokerID)
    }

    package func setBrokerUp(_ brokerID: Int32 = -1) {
        _ = rd_kafka_mock_broker_set_up(cluster, brokerID)
    }

    /// Makes the next `errors.count` requests of `api` fail with these librdkafka error codes.
    package func pushRequestErrors(_ api: KafkaAPIKey, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { crdk_mock_push_request_errors(cluster, api.rawValue, $0.count, $0.baseAddress) }
    }

    /// Removes injected errors for `api`.
    package func clearRequestErrors(_ api: KafkaAPIKey) {
        rd_kafka_mock_clear_request_errors(cluster, api.rawValue)
    }
}
