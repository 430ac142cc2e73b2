import Foundation
import Kafka
import Logging
import OperatorTools

/// A mock Kafka cluster hosted by the test process, with a producer and group inspection.
package final class TestCluster: @unchecked Sendable {
    package let cluster: MockCluster
    package let producer: KafkaProducer
    package let topic: String
    package let partitions: Int32
    package let logger: Logger

    package init(topic: String = "user-retirement", partitions: Int32 = 4, brokers: Int32 = 1) throws {
        var logger = Logger(label: "test-cluster")
        logger.logLevel = .error
        self.logger = logger
        cluster = try MockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic("\(topic).dlq", partitions: partitions)
        producer = try KafkaProducer(
            properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1", "log_level": "3"]),
            logger: logger)
        self.topic = topic
        self.partitions = partitions
    }

    package var bootstrapServers: String { cluster.bootstrapServers }

    /// Committed offset (or -1) and high watermark per partition.
    package func progress(groupID: String, topic: String? = nil) throws -> [(partition: Int32, committed: Int64, high: Int64)] {
        let inspector = try GroupInspector(bootstrapServers: bootstrapServers, groupID: groupID, topic: topic ?? self.topic, logger: logger)
        return try inspector.status(timeoutMs: 5000).map { ($0.partition, $0.committed ?? -1, $0.high) }
    }

    /// Whether the group's committed offsets equal the high watermarks on every partition.
    package func isFullyCommitted(groupID: String) -> Bool {
        guard let rows = try? progress(groupID: groupID) else { return false }
        return rows.allSatisfy { $0.high == 0 ? $0.committed <= 0 : $0.committed == $0.high }
    }

    /// Reads every record of a topic (up to the high watermarks at call time).
    package func readAll(topic: String) throws -> [KafkaMessage] {
        let reader = try TopicReader(bootstrapServers: bootstrapServers, topic: topic, groupID: "reader-\(UUID().uuidString)", logger: logger)
        var messages: [KafkaMessage] = []
        try reader.read(ranges: reader.watermarks(timeoutMs: 5000).mapValues { ($0.low, $0.high) }, stallTimeout: .seconds(30)) {
            messages.append($0)
        }
        return messages
    }

    /// A config file for `run` against this cluster.
    package func writeConfig(
        to url: URL, groupID: String, webhookURL: String, extra processing: String = "", strategy: String = "range",
        httpPort: Int = 0, sessionTimeoutMs: Int = 6000, more: String = ""
    ) throws {
        // Diagnostics for a flaky group test: RETIREMENT_TEST_KAFKA_DEBUG=cgrp (librdkafka's `debug`
        // contexts) runs every member with librdkafka's debug log and `logging.level: debug`.
        let debug = ProcessInfo.processInfo.environment["RETIREMENT_TEST_KAFKA_DEBUG"] ?? ""
        let debugProperty = debug.isEmpty ? "" : "\n    debug: \"\(debug)\""
        let yaml = """
            kafka:
              bootstrap_servers: "\(bootstrapServers)"
              topic: \(topic)
              group_id: \(groupID)
              assignment_strategy: \(strategy)
              properties:
                session.timeout.ms: "\(sessionTimeoutMs)"
                heartbeat.interval.ms: "300"
                statistics.interval.ms: "1000"\(debugProperty)
            processing:
              retry:
                initial_backoff: 50ms
                max_backoff: 500ms
                max_attempts: 5
              shutdown_grace: 5s
              revoke_grace: 2s
            \(processing)
            http:
              listen: "127.0.0.1:\(httpPort == 0 ? freePort() : httpPort)"
            logging:
              level: \(debug.isEmpty ? "info" : "debug")
            destinations:
              - name: crm
                type: webhook
                url: "\(webhookURL)"
                secret_env: WEBHOOK_SECRET
            \(more)
            """
        try yaml.write(to: url, atomically: true, encoding: .utf8)
    }
}
