import Foundation
import Kafka
import OperatorTools
import RetirementEvent

/// The mock cluster hosted by the benchmark, a bulk producer (lz4) and group inspection.
final class BenchCluster: @unchecked Sendable {
    let cluster: MockCluster
    let producer: KafkaProducer
    let logger = quietLogger("bench-cluster")
    private var inspectors: [String: GroupInspector] = [:]
    private let lock = NSLock()

    init() throws {
        cluster = try MockCluster(brokers: 1, logger: logger)
        producer = try KafkaProducer(
            properties: KafkaProperties([
                "bootstrap.servers": cluster.bootstrapServers, "compression.codec": "lz4", "linger.ms": "200", "batch.size": "16000000",
                "batch.num.messages": "100000", "queue.buffering.max.messages": "1000000",
                "queue.buffering.max.kbytes": "1048576", "log_level": "3",
            ]), logger: logger)
    }

    var brokers: String { cluster.bootstrapServers }

    func createTopic(_ topic: String, partitions: Int32) throws {
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic("\(topic).dlq", partitions: 1)
    }

    /// Creates the topic and fills it with `count` valid events (users `firstUser...`), keys spread
    /// by the partitioner; checks that the high watermarks really hold them all (nothing dropped
    /// by the mock's per-partition size limit). Returns the seconds it took.
    /// With `sealedWith`, every event's personal fields are encrypted under that key.
    @discardableResult
    func fill(_ topic: String, partitions: Int32, count: Int, firstUser: Int = 1, sealedWith key: Keyring.Key? = nil) throws -> Double {
        let started = now()
        try createTopic(topic, partitions: partitions)
        try produce(topic, users: firstUser..<(firstUser + count), sealedWith: key)
        try producer.flush(timeoutMs: 300_000)
        let marks = try watermarks(topic, partitions: partitions)
        let total = marks.reduce(Int64(0)) { $0 + $1.high - $1.low }
        guard marks.allSatisfy({ $0.low == 0 }), total == Int64(count) else {
            throw BenchError("topic \(topic): watermarks \(marks) hold \(total) records, expected \(count) from offset 0")
        }
        return now() - started
    }

    func produce(_ topic: String, users: Range<Int>, sealedWith sealing: Keyring.Key? = nil) throws {
        for user in users {
            let key = Array(String(user).utf8)
            let value =
                try sealing.map { try SampleEvents.sealedValue(userID: user, eventID: SampleEvents.eventID(user), key: $0) } ?? SampleEvents.value(userID: user)
            let headers = SampleEvents.headers(userID: user, source: "openedx/lms/lms.bench")
            while try !producer.enqueue(topic: topic, key: key, value: value, headers: headers) {
                usleep(2000)
            }
        }
    }

    /// One inspector per group and topic, kept: the benchmark asks for progress often.
    func inspector(_ group: String, topic: String) throws -> GroupInspector {
        lock.lock()
        defer { lock.unlock() }
        if let existing = inspectors["\(group)/\(topic)"] { return existing }
        let inspector = try GroupInspector(bootstrapServers: brokers, groupID: group, topic: topic, logger: logger)
        inspectors["\(group)/\(topic)"] = inspector
        return inspector
    }

    func watermarks(_ topic: String, partitions: Int32) throws -> [(low: Int64, high: Int64)] {
        try inspector("bench-inspector", topic: topic).status().map { ($0.low, $0.high) }
    }

    /// The group's committed offset per partition (0 when none yet).
    func committed(group: String, topic: String, partitions: Int32) -> [Int64] {
        guard let status = try? inspector(group, topic: topic).status(timeoutMs: 5000), status.count == Int(partitions) else {
            return Array(repeating: 0, count: Int(partitions))
        }
        return status.map { max($0.committed ?? 0, 0) }
    }
}
