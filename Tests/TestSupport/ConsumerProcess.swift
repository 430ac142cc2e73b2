import Foundation

/// The built `retirement-consumer` executable, run as a separate OS process.
package final class ConsumerProcess: @unchecked Sendable {
    package let process = Process()
    package let logURL: URL

    /// The executable next to the test bundle (`swift build` puts both in the same folder).
    package static var executableURL: URL {
        if let path = ProcessInfo.processInfo.environment["RETIREMENT_CONSUMER_BIN"] { return URL(fileURLWithPath: path) }
        let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        return me.deletingLastPathComponent().appendingPathComponent("retirement-consumer")
    }

    /// Starts `retirement-consumer <arguments>`; stderr and stdout go to `logURL`.
    package init(_ arguments: [String], logURL: URL, environment: [String: String] = [:]) throws {
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

    package var isRunning: Bool { process.isRunning }

    package func terminate() { process.terminate() }

    package func kill() { Foundation.kill(process.processIdentifier, SIGKILL) }

    /// Waits for exit up to `timeout`; returns the exit status, or `nil` if still running.
    package func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    package var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
