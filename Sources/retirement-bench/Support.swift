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

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

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
            let value = SampleEvents.value(userID: user)
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
