import Kafka
import Logging
import Testing

/// The librdkafka wrapper against the mock cluster over TCP.
@Suite(.serialized) struct MockClusterTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .error
        return logger
    }()

    @Test func produceAcknowledgesAndConsumerReadsHeadersKeysAndOffsets() async throws {
        let cluster = try MockCluster(brokers: 2, logger: logger)
        try cluster.createTopic("t", partitions: 3)
        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers]), logger: logger)
        var placed: [TopicPartitionOffset] = []
        for index in 0..<30 {
            let landed = try await producer.send(
                topic: "t", key: Array("k\(index)".utf8), value: Array("v\(index)".utf8),
                headers: [KafkaHeader(name: "h", string: "\(index)"), KafkaHeader(name: "empty", value: nil)],
                timestamp: 1_700_000_000_000 + Int64(index))
            placed.append(landed)
        }
        #expect(Set(placed.map(\.topicPartition.partition)).isSubset(of: [0, 1, 2]))
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g1", "enable.auto.commit": "false"]),
            logger: logger)
        #expect(try consumer.partitionCount(topic: "t", timeoutMs: 5000) == 3)
        try consumer.assign((0..<3).map { TopicPartitionOffset(TopicPartition(topic: "t", partition: $0), offset: 0) })
        var seen: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(15)
        while seen.count < 30, ContinuousClock.now < deadline {
            if let message = try consumer.poll(timeoutMs: 100) { seen.append(message) }
        }
        #expect(seen.count == 30)
        let first = try #require(seen.first { $0.key == Array("k0".utf8) })
        #expect(first.value == Array("v0".utf8))
        #expect(first.header("h") == "0")
        let empty = try #require(first.headers?.all.first { $0.name == "empty" })
        #expect(empty.value == nil)
        #expect(first.timestamp == 1_700_000_000_000)
        let marks = try consumer.queryWatermarks(TopicPartition(topic: "t", partition: 0), timeoutMs: 5000)
        #expect(marks.high == Int64(placed.filter { $0.topicPartition.partition == 0 }.count))
    }

    @Test func commitAndCommittedRoundTrip() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("c", partitions: 2)
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g2", "enable.auto.commit": "false"]),
            logger: logger)
        let tp = TopicPartition(topic: "c", partition: 1)
        #expect(try consumer.committed([tp], timeoutMs: 5000).first?.offset == KafkaError.invalidOffset)
        try consumer.commit([TopicPartitionOffset(tp, offset: 17)])
        #expect(try consumer.committed([tp], timeoutMs: 5000).first?.offset == 17)
    }

    @Test func unknownPropertyIsAConfigurationErrorNamingIt() {
        #expect {
            _ = try KafkaConsumer(properties: KafkaProperties(["no.such.property": "1"]), logger: logger)
        } throws: { error in
            (error as? KafkaError)?.message.contains("kafka.properties.no.such.property") == true
        }
    }

    @Test func produceToADownClusterFailsWithARetriableError() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("d", partitions: 1)
        let producer = try KafkaProducer(
            properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "message.timeout.ms": "1500"]), logger: logger)
        try await producer.send(topic: "d", key: nil, value: [1])
        cluster.setBrokerDown()
        await #expect {
            try await producer.send(topic: "d", key: nil, value: [2])
        } throws: { error in
            (error as? KafkaError)?.isRetriable == true
        }
        cluster.setBrokerUp()
        // The client reconnects with backoff; a send after the broker is back must succeed.
        var delivered = false
        for _ in 0..<10 where !delivered {
            delivered = (try? await producer.send(topic: "d", key: nil, value: [3])) != nil
        }
        #expect(delivered)
    }

    /// A commit with a timeout answers within it, even with the coordinator gone: the poll thread
    /// commits this way inside a revoke and at shutdown.
    @Test func commitWithATimeoutNeverBlocksPastIt() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("t", partitions: 1)
        let consumer = try KafkaConsumer(
            properties: KafkaProperties([
                "bootstrap.servers": cluster.bootstrapServers, "group.id": "g-commit", "enable.auto.commit": "false",
                "log_level": "0",
            ]), logger: logger)
        let partition = TopicPartition(topic: "t", partition: 0)
        try consumer.assign([TopicPartitionOffset(partition, offset: 0)])
        try consumer.commit([TopicPartitionOffset(partition, offset: 0)], timeout: .seconds(10))
        #expect(try consumer.committed([partition], timeoutMs: 5000).first?.offset == 0)

        cluster.setBrokerDown()
        let started = ContinuousClock.now
        #expect(throws: KafkaError.self) {
            try consumer.commit([TopicPartitionOffset(partition, offset: 0)], timeout: .seconds(1))
        }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(3), "took \(took)")
        cluster.setBrokerUp()
    }
}
