import Foundation
import Kafka
import Logging
import Testing

/// Against a real Kafka broker: runs only when `KAFKA_BOOTSTRAP_SERVERS` is set
/// (see deploy/compose/compose.yaml). Topics must exist or be auto-created.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] != nil, "set KAFKA_BOOTSTRAP_SERVERS to run"))
struct RealBrokerTests {
    let servers = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? ""
    let logger = Logger(label: "integration")

    @Test func produceConsumeCommitOnARealBroker() async throws {
        let topic = ProcessInfo.processInfo.environment["KAFKA_TEST_TOPIC"] ?? "user-retirement"
        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": servers]), logger: logger)
        let marker = UUID().uuidString
        let placed = try await producer.send(topic: topic, key: Array("1".utf8), value: Array(marker.utf8))
        let group = "integration-\(marker)"
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(["bootstrap.servers": servers, "group.id": group, "enable.auto.commit": "false"]), logger: logger)
        try consumer.assign([TopicPartitionOffset(placed.topicPartition, offset: placed.offset)])
        var found = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !found, ContinuousClock.now < deadline {
            if let message = try consumer.poll(timeoutMs: 200), message.value == Array(marker.utf8) { found = true }
        }
        #expect(found)
        try consumer.commit([TopicPartitionOffset(placed.topicPartition, offset: placed.offset + 1)])
        #expect(try consumer.committed([placed.topicPartition], timeoutMs: 10_000).first?.offset == placed.offset + 1)
        // A real broker has a time index, unlike the mock.
        let lookup = try consumer.offsetsForTimes([TopicPartitionOffset(placed.topicPartition, offset: 0)], timeoutMs: 10_000)
        #expect(lookup.first.map { $0.offset >= 0 } == true)
    }
}
