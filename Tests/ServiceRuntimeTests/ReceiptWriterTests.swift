import Engine
import Foundation
import Kafka
import Logging
import RetirementEvent
import ServiceRuntime
import Testing

/// Receipts never hold an erasure back: they are queued, written in the background, and a
/// failure or a full queue is counted, not waited for.
@Suite struct ReceiptWriterTests {
    static let logger: Logger = {
        var logger = Logger(label: "receipts-test")
        logger.logLevel = .critical
        return logger
    }()

    func receipt(_ userID: Int64) -> ErasureReceipt {
        ErasureReceipt(
            eventID: "evt-\(userID)", userID: userID, destination: "crm", outcome: .erased, jobID: nil, time: 0, attempts: 1)
    }

    /// A producer whose broker never answers (nothing listens on the port).
    func unreachableProducer() throws -> KafkaProducer {
        try KafkaProducer(
            properties: KafkaProperties([
                "bootstrap.servers": "127.0.0.1:\(closedPort())", "message.timeout.ms": "10000", "log_level": "0",
            ]), logger: Self.logger)
    }

    func closedPort() -> Int {
        // A port bound and released at once: nothing listens on it afterwards.
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        close(socket)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func recordingNeverWaitsForTheBrokerAndAFullQueueDrops() async throws {
        let producer = try unreachableProducer()
        let writer = ErasureReceiptWriter(
            producer: producer, topic: "receipts", logger: nil, capacity: 3, errorLogger: Self.logger, retryDelays: [])
        let started = ContinuousClock.now
        for userID in 1...50 { writer.record(receipt(Int64(userID))) }
        #expect(ContinuousClock.now - started < .milliseconds(500), "record(_:) only queues")
        #expect(writer.pendingCount <= 3, "the queue is bounded")
        await writer.shutdown(timeout: .milliseconds(100))
        producer.shutdown()
    }

    @Test func anEventCompletesWhileItsReceiptCannotBeWritten() async throws {
        let producer = try unreachableProducer()
        let writer = ErasureReceiptWriter(producer: producer, topic: "receipts", logger: nil, errorLogger: Self.logger)
        let processor = EventProcessor(
            destinations: [Erases()], deadLetters: NoDeadLetters(), retry: RetryPolicy(), health: DestinationHealth(),
            receipts: writer, metrics: EngineMetrics(), logger: Self.logger)
        let value = #"{"user_id": 7, "username": "u7", "email": "u7@example.org"}"#
        let record = InboundRecord(
            partition: PartitionID(topic: "t", partition: 0), offset: 0, key: Array("7".utf8), value: Array(value.utf8),
            headers: [
                RecordHeader(name: "ce_type", value: Array(RetirementEventType.v1.utf8)),
                RecordHeader(name: "ce_id", value: Array("e7".utf8)),
            ])
        let started = ContinuousClock.now
        #expect(await processor.process(record) == .erased)
        #expect(ContinuousClock.now - started < .seconds(5), "the receipt write (10 s to fail) must not hold the event")
        await writer.shutdown(timeout: .milliseconds(100))
        producer.shutdown()
    }
}

/// The event type as the decoder expects it.
enum RetirementEventType {
    static let v1 = "org.openedx.learning.user.retirement.requested.v1"
}

struct Erases: ErasureApplier {
    let name = "crm"
    func apply(_ event: RetirementEvent) async -> ErasureOutcome { .erased(jobID: nil) }
}

struct NoDeadLetters: DeadLetterSink {
    func deadLetter(_ record: InboundRecord, reason: String, owedDestinations: [String], attempts: Int) async throws {}
}
