import Foundation
import Kafka
import Logging
import ServiceRuntime
import Synchronization

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
