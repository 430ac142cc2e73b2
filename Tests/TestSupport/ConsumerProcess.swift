import Foundation

/// The built `retirement-consumer` executable, run as a separate OS process.
public final class ConsumerProcess: @unchecked Sendable {
    public let process = Process()
    public let logURL: URL

    /// The executable next to the test bundle (`swift build` puts both in the same folder).
    public static var executableURL: URL {
        if let path = ProcessInfo.processInfo.environment["RETIREMENT_CONSUMER_BIN"] { return URL(fileURLWithPath: path) }
        let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        return me.deletingLastPathComponent().appendingPathComponent("retirement-consumer")
    }

    /// Starts `retirement-consumer <arguments>`; stderr and stdout go to `logURL`.
    public init(_ arguments: [String], logURL: URL, environment: [String: String] = [:]) throws {
        self.logURL = logURL
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = ConsumerProcess.executableURL
        process.arguments = arguments
        process.standardError = log
        process.standardOutput = log
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }

    public func terminate() { process.terminate() }

    public func kill() { Foundation.kill(process.processIdentifier, SIGKILL) }

    /// Waits for exit up to `timeout`; returns the exit status, or `nil` if still running.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    public var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
