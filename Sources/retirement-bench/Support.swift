import App
import Foundation
import Kafka
import Logging
import Synchronization

/// Wall-clock seconds (comparable with the `ts` of the service's JSON log lines).
func now() -> Double { Date().timeIntervalSince1970 }

func fmt(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

/// Retirement records as the LMS plugin publishes them (docs/contract.md#event), as in Tests/TestSupport.
enum Events {
    static let type = "org.openedx.learning.user.retirement.requested.v1"

    static func headers(userID: Int) -> [KafkaHeader] {
        [
            KafkaHeader(name: "ce_specversion", string: "1.0"),
            KafkaHeader(name: "ce_type", string: type),
            KafkaHeader(name: "ce_id", string: String(format: "00000000-0000-4000-8000-%012d", userID)),
            KafkaHeader(name: "ce_source", string: "openedx/lms/lms.bench"),
            KafkaHeader(name: "ce_time", string: "2026-11-01T00:00:00Z"),
            KafkaHeader(name: "content-type", string: "application/json"),
        ]
    }

    static func value(userID: Int) -> [UInt8] {
        Array("""
            {"user_id": \(userID), "username": "learner\(userID)", "email": "learner\(userID)@example.org", \
            "retired_username": "retired__user_\(userID)", "retired_email": "retired__user_\(userID)@retired.invalid", \
            "requested_at": "2026-11-01T00:00:00Z"}
            """.utf8)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// The mock cluster hosted by the benchmark, a bulk producer (lz4) and group inspection.
final class BenchCluster: @unchecked Sendable {
    let cluster: MockCluster
    let producer: KafkaProducer
    let logger = quietLogger("bench-cluster")
    private var inspectors: [String: KafkaConsumer] = [:]
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
    @discardableResult
    func fill(_ topic: String, partitions: Int32, count: Int, firstUser: Int = 1) throws -> Double {
        let started = now()
        try createTopic(topic, partitions: partitions)
        try produce(topic, users: firstUser..<(firstUser + count))
        try producer.flush(timeoutMs: 300_000)
        let marks = try watermarks(topic, partitions: partitions)
        let total = marks.reduce(Int64(0)) { $0 + $1.high - $1.low }
        guard marks.allSatisfy({ $0.low == 0 }), total == Int64(count) else {
            throw BenchError("topic \(topic): watermarks \(marks) hold \(total) records, expected \(count) from offset 0")
        }
        return now() - started
    }

    func produce(_ topic: String, users: Range<Int>) throws {
        for user in users {
            let key = Array(String(user).utf8)
            let value = Events.value(userID: user)
            let headers = Events.headers(userID: user)
            while try !producer.enqueue(topic: topic, key: key, value: value, headers: headers) {
                usleep(2000)
            }
        }
    }

    func inspector(_ group: String) throws -> KafkaConsumer {
        lock.lock()
        defer { lock.unlock() }
        if let existing = inspectors[group] { return existing }
        let consumer = try KafkaConsumer(
            properties: KafkaProperties([
                "bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": "false", "log_level": "3",
            ]), logger: logger)
        inspectors[group] = consumer
        return consumer
    }

    func watermarks(_ topic: String, partitions: Int32) throws -> [(low: Int64, high: Int64)] {
        let consumer = try inspector("bench-inspector")
        return try (0..<partitions).map { try consumer.queryWatermarks(TopicPartition(topic: topic, partition: $0), timeoutMs: 10_000) }
    }

    /// The group's committed offset per partition (0 when none yet).
    func committed(group: String, topic: String, partitions: Int32) -> [Int64] {
        guard let consumer = try? inspector(group),
            let rows = try? consumer.committed((0..<partitions).map { TopicPartition(topic: topic, partition: $0) }, timeoutMs: 5000)
        else { return Array(repeating: 0, count: Int(partitions)) }
        var result = Array(repeating: Int64(0), count: Int(partitions))
        for row in rows where row.offset > 0 { result[Int(row.topicPartition.partition)] = row.offset }
        return result
    }
}

/// `retirement-consumer run` as a separate OS process, its JSON log in a file.
final class ServiceProcess: @unchecked Sendable {
    let process = Process()
    let logURL: URL
    let launched: Double

    init(binary: URL, config: String, logURL: URL) throws {
        self.logURL = logURL
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binary
        process.arguments = ["run", "--config", config]
        process.standardError = log
        process.standardOutput = log
        process.standardInput = FileHandle.nullDevice
        launched = now()
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Stops with SIGTERM (drain, commit, leave) and waits.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = now() + 30
        while process.isRunning, now() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Wall time (from the line's `ts`) of each log line whose message is `message`.
    func times(of message: String) -> [Double] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var result: [Double] = []
        for line in log.split(separator: "\n") where line.contains("\"msg\":\"\(message)\"") {
            guard let start = line.range(of: "\"ts\":\"") else { continue }
            let rest = line[start.upperBound...]
            guard let end = rest.firstIndex(of: "\""), let date = formatter.date(from: String(rest[..<end])) else { continue }
            result.append(date.timeIntervalSince1970)
        }
        return result
    }

    /// Peak and current resident set (kB) and CPU seconds (user + system) of the process.
    func resources() -> (hwmKB: Int, rssKB: Int, cpuSeconds: Double) {
        var hwm = 0
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if parts.first == "VmHWM:", parts.count > 1 { hwm = Int(parts[1]) ?? 0 }
                if parts.first == "VmRSS:", parts.count > 1 { rss = Int(parts[1]) ?? 0 }
            }
        }
        var cpu = 0.0
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpu = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        return (hwm, rss, cpu)
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

/// The service's configuration for one benchmark run.
struct RunConfig {
    var topic: String
    var group: String
    var processing: [String] = []
    var destination: String = "  - name: bench\n    type: noop"

    func write(brokers: String, to url: URL, extra: [(String, String)] = []) throws -> String {
        let yaml = """
            kafka:
              bootstrap_servers: "\(brokers)"
              topic: \(topic)
              group_id: \(group)
              assignment_strategy: range
              properties:
                session.timeout.ms: "6000"
                heartbeat.interval.ms: "300"
                auto.commit.interval.ms: "50"
                log_level: "3"
            \(extra.map { "    \($0.0): \"\($0.1)\"" }.joined(separator: "\n"))
            processing:
              shutdown_grace: 5s
            \(processing.map { "  \($0)" }.joined(separator: "\n"))
            http:
              enabled: false
            logging:
              level: info
              format: json
            destinations:
            \(destination)

            """
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
