import Destinations
import Foundation

/// `scripts/bench/webhook_server.py` as a child process: the webhook of the latency, memory and
/// peer rows, answering after a fixed delay, with its request counts (`GET /stats`, `POST /reset`).
final class WebhookServer: @unchecked Sendable {
    /// The counts of `GET /stats` (the server reads only `user_id` from a body, never prints one).
    struct Stats {
        var eraseRequests: Int
        var distinctUserIDs: Int

        /// Whether at least one distinct user id was answered per committed event.
        func covers(committed: Int64) -> Bool { Int64(distinctUserIDs) >= committed }

        /// The counts for a row's note, flagged when fewer user ids than committed events were answered.
        func note(committed: Int64) -> String {
            let counts = "webhook: \(eraseRequests) erase_requests, \(distinctUserIDs) distinct_user_ids"
            return covers(committed: committed) ? counts : "\(counts) — FLAG: fewer distinct user ids than the \(committed) committed events"
        }
    }

    let port: Int
    let path: String
    private let process: Process
    private let input: Pipe
    private let output: Pipe
    private let transport = HTTPTransport(maxConnectionsPerHost: 1)

    /// Starts the server on a free port and waits for its `LISTENING <port>` line.
    init(python: URL, script: URL, latencyMs: Int, path: String, logURL: URL) throws {
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = python
        process.arguments = [script.path, "--port", "0", "--latency-ms", "\(latencyMs)", "--path", path]
        // The server exits at the end of its stdin: if the bench dies, so does the server.
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        try process.run()
        let line = Self.firstLine(of: output.fileHandleForReading, timeout: 30)
        guard let line, line.hasPrefix("LISTENING "), let port = Int(line.dropFirst("LISTENING ".count)) else {
            Self.terminate(process)
            let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            throw BenchError("webhook server did not start (\(python.path) \(script.path)):\n\(log.suffix(2000))")
        }
        self.process = process
        self.input = input
        self.output = output
        self.port = port
        self.path = path
    }

    /// The erase endpoint's URL.
    var url: String { "http://127.0.0.1:\(port)\(path)" }

    /// The batched endpoint's URL (docs/contract.md#webhook-batches; webhook_server.py's default path).
    var batchURL: String { "http://127.0.0.1:\(port)/erase-batch" }

    /// Sets the counts back to zero.
    func reset() async throws {
        let response = try await transport.send(.POST, "http://127.0.0.1:\(port)/reset", headers: [], body: [])
        guard response.status == 200 else { throw BenchError("webhook server: POST /reset answered \(response.status)") }
    }

    /// The counts since the last reset.
    func stats() async throws -> Stats {
        let response = try await transport.send(.GET, "http://127.0.0.1:\(port)/stats", headers: [])
        guard response.status == 200,
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
            let requests = object["erase_requests"] as? Int, let distinct = object["distinct_user_ids"] as? Int
        else { throw BenchError("webhook server: GET /stats answered \(response.status)") }
        return Stats(eraseRequests: requests, distinctUserIDs: distinct)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and closes its stdin.
    func stop() async {
        await transport.shutdown()
        Self.terminate(process)
        try? input.fileHandleForWriting.close()
    }

    private static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = now() + 5
        while process.isRunning, now() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The first line written to `handle`, or nil at its end or after `timeout` seconds.
    private static func firstLine(of handle: FileHandle, timeout: Double) -> String? {
        let fd = handle.fileDescriptor
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        let deadline = now() + timeout
        while now() < deadline {
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, 200)
            if ready < 0, errno != EINTR { return nil }
            guard ready > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return nil }
            data += buffer[0..<count]
            if let newline = data.firstIndex(of: UInt8(ascii: "\n")) { return String(decoding: data[..<newline], as: UTF8.self) }
        }
        return nil
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
