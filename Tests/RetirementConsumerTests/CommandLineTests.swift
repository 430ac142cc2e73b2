import Foundation
import TestSupport
import Testing

extension ProcessTests {
    /// `check`, `status` and `dev-cluster` as an operator runs them.
    @Suite struct CommandLineTests {
        func run(_ arguments: [String], in directory: URL, name: String, env: [String: String] = [:]) async throws -> (Int32?, String) {
            let process = try ConsumerProcess(arguments, logURL: directory.appendingPathComponent("\(name).log"), environment: env)
            let code = await process.waitForExit(timeout: .seconds(60))
            if code == nil { process.kill() }
            return (code, process.log)
        }

        @Test func checkReportsEveryProblemAndPassesAWorkingSetup() async throws {
            let harness = try await ProcessHarness(partitions: 2)
            let (config, _) = try harness.config(name: "check")
            let secret = ["WEBHOOK_SECRET": harness.webhook.secret]
            let (okCode, okOut) = try await run(["check", "--config", config], in: harness.directory, name: "check-ok", env: secret)
            #expect(okCode == 0, "\(okOut)")
            #expect(okOut.contains("ok: configuration valid"))

            let (missingCode, missingOut) = try await run(["check", "--config", config], in: harness.directory, name: "check-env")
            #expect(missingCode == 2)
            #expect(missingOut.contains("destinations[0].secret_env: environment variable WEBHOOK_SECRET is not set"), "\(missingOut)")

            let broken = harness.directory.appendingPathComponent("broken.yaml")
            try """
            kafka:
              bootstrap_servers: "\(harness.cluster.bootstrapServers)"
              topic: missing-topic
            processing:
              max_in_flight: many
            destinations:
              - name: crm
                type: webhook
                url: "http://127.0.0.1:1/erase"
            """.write(to: broken, atomically: true, encoding: .utf8)
            let (badCode, badOut) = try await run(["check", "--config", broken.path], in: harness.directory, name: "check-bad")
            #expect(badCode == 2)
            #expect(badOut.contains("processing.max_in_flight: must be an integer"), "\(badOut)")

            let unreachable = harness.directory.appendingPathComponent("unreachable.yaml")
            try String(contentsOfFile: broken.path, encoding: .utf8).replacingOccurrences(of: "  max_in_flight: many\n", with: "")
                .write(to: unreachable, atomically: true, encoding: .utf8)
            let (downCode, downOut) = try await run(["check", "--config", unreachable.path], in: harness.directory, name: "check-down")
            #expect(downCode == 1, "\(downOut)")
            #expect(downOut.contains("destination crm: cannot reach"), "\(downOut)")
        }

        @Test func statusShowsLagPerPartition() async throws {
            let harness = try await ProcessHarness(partitions: 3)
            try await harness.produce(1...12)
            let (config, _) = try harness.config(name: "status")
            let (code, out) = try await run(["status", "--config", config], in: harness.directory, name: "status")
            #expect(code == 0, "\(out)")
            #expect(out.contains("total lag: 12"), "\(out)")
        }

        @Test func devClusterPrintsBrokersFirstAndStopsAtEndOfStdin() async throws {
            let process = Process()
            process.executableURL = ConsumerProcess.executableURL
            process.arguments = ["dev-cluster", "--brokers", "2", "--topic", "a", "--partitions", "3", "--topic", "b"]
            let stdout = Pipe()
            let stdin = Pipe()
            process.standardOutput = stdout
            process.standardInput = stdin
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self)
            #expect(line.hasPrefix("BROKERS=127.0.0.1:"), "\(line)")
            #expect(line.split(separator: "\n")[0].split(separator: ",").count == 2)
            try stdin.fileHandleForWriting.close()
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!process.isRunning)
            #expect(process.terminationStatus == 0)
        }
    }
}
