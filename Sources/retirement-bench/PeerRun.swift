import Foundation

/// One run of `scripts/bench/peer_consumer.py`, the event-bus-style peer, and the JSON line it printed.
struct PeerRun {
    var events: Int
    /// From the peer's partition assignment to its last synchronous commit.
    var seconds: Double
    var eventsPerSecond: Double
    var failed: Int
    var badInput: Int

    /// Runs the peer to its end (`--events`, drained, or its `--timeout`) and reads its result.
    static func run(python: URL, script: URL, arguments: [String], directory: URL, timeout: Double) throws -> PeerRun {
        let outURL = directory.appendingPathComponent("peer.out")
        let logURL = directory.appendingPathComponent("peer.log")
        for url in [outURL, logURL] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path] + arguments + ["--timeout", fmt(timeout)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: logURL)
        try process.run()
        let deadline = now() + timeout + 30
        while process.isRunning, now() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let line = out.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
            let events = object["events"] as? Int, let seconds = object["seconds"] as? Double,
            let rate = object["events_per_second"] as? Double
        else {
            let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            throw BenchError("peer printed no result (exit \(process.terminationStatus)):\n\(log.suffix(2000))")
        }
        return PeerRun(
            events: events, seconds: seconds, eventsPerSecond: rate, failed: object["failed"] as? Int ?? 0,
            badInput: object["bad_input"] as? Int ?? 0)
    }
}
