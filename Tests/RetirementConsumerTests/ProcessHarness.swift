import Foundation
import Kafka
import OperatorTools
import TestSupport
import Testing

/// Every test that runs `retirement-consumer` as separate OS processes against a mock cluster
/// hosted here. They run one at a time: the mock group's timing is sensitive to a loaded machine.
@Suite(.serialized) struct ProcessTests {}

/// One mock cluster, one local webhook and the consumer processes of one test.
final class ProcessHarness: @unchecked Sendable {
    let cluster: TestCluster
    let webhook: WebhookServer
    let directory: URL
    let groupID: String
    private(set) var processes: [ConsumerProcess] = []
    let started = ContinuousClock.now

    init(partitions: Int32 = 4, answer: @escaping @Sendable (Int, Int) -> WebhookServer.Answer = { _, _ in .init() }) async throws {
        cluster = try TestCluster(partitions: partitions)
        webhook = try await WebhookServer(answer: answer)
        directory = makeTemporaryDirectory()
        groupID = "group-\(UUID().uuidString.prefix(8))"
    }

    /// How the next consumers are configured (see ``TestCluster/writeConfig``).
    var processing = ""
    var strategy = "range"
    var more = ""

    /// Writes a config with its own HTTP port and returns its path and the port.
    func config(name: String) throws -> (path: String, port: Int) {
        let url = directory.appendingPathComponent("\(name).yaml")
        let port = freePort()
        try cluster.writeConfig(
            to: url, groupID: groupID, webhookURL: webhook.url, extra: processing, strategy: strategy, httpPort: port, more: more)
        return (url.path, port)
    }

    /// Ports of the HTTP servers of the started consumers, in start order.
    private(set) var httpPorts: [Int] = []

    /// Starts `retirement-consumer run --config <its own config>` as a new OS process.
    @discardableResult
    func startConsumer() throws -> ConsumerProcess {
        let index = processes.count
        let (path, port) = try config(name: "consumer-\(index)")
        httpPorts.append(port)
        let process = try ConsumerProcess(
            ["run", "--config", path], logURL: directory.appendingPathComponent("consumer-\(index).log"),
            environment: ["WEBHOOK_SECRET": webhook.secret])
        processes.append(process)
        return process
    }

    @discardableResult
    func produce(_ userIDs: ClosedRange<Int>) async throws -> [Int: TopicPartitionOffset] {
        try await SampleEvents.produce(userIDs, to: cluster.topic, with: cluster.producer)
    }

    /// Runs a one-shot subcommand (`replay`, `dlq …`, `keys …`) as its own process, with the
    /// webhook's secret in its environment; returns its exit code and output.
    func runCommand(_ arguments: [String], name: String) async throws -> (Int32?, String) {
        let process = try ConsumerProcess(
            arguments, logURL: directory.appendingPathComponent("\(name).log"), environment: ["WEBHOOK_SECRET": webhook.secret])
        let code = await process.waitForExit(timeout: .seconds(90))
        if code == nil { process.kill() }
        return (code, process.log)
    }

    /// Waits until the webhook erased every user in `userIDs` and the group committed everything.
    func waitUntilDone(_ userIDs: Set<Int>, timeout: Duration) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(250)) {
            webhook.erasedUserIDs.isSuperset(of: userIDs) && cluster.isFullyCommitted(groupID: groupID)
        }
    }

    var elapsed: Double { (ContinuousClock.now - started).seconds }

    /// Stops every running consumer with SIGTERM and returns their exit codes.
    func stopAll() async -> [Int32?] {
        for process in processes where process.isRunning { process.terminate() }
        var codes: [Int32?] = []
        for process in processes { codes.append(await process.waitForExit(timeout: .seconds(30))) }
        return codes
    }

    /// Waits up to `deadline` for `process` to exit. A member still running then has every
    /// thread's stack dumped (gdb, when installed) into the returned text, and is killed.
    func waitForExit(_ process: ConsumerProcess, deadline: Duration) async -> (code: Int32?, stacks: String) {
        if let code = await process.waitForExit(timeout: deadline) { return (code, code == 0 ? "" : crashLines(process.log)) }
        let stacks = dumpStacks(pid: process.process.processIdentifier)
        process.kill()
        return (nil, crashLines(process.log) + "\n" + stacks)
    }

    /// The lines of a member's log that say why it crashed (librdkafka's assertions, the Swift
    /// runtime's crash report header), which the log's tail may no longer hold.
    func crashLines(_ log: String) -> String {
        let marks = ["assert", "Assertion", "crashed", "Program crashed", "Fatal error", "stop budget"]
        let lines = log.split(separator: "\n")
        let crash = lines.filter { line in marks.contains { line.contains($0) } }.prefix(40)
        // What the member did last before it stopped logging (its crash report follows).
        let last = lines.filter { $0.hasPrefix("{") && !$0.contains("retried with the next commit") }.suffix(60)
        return (crash + ["--- last log lines ---"] + last).joined(separator: "\n")
    }

    /// Every thread's stack of a running process, from `gdb -batch` (empty without gdb).
    func dumpStacks(pid: Int32) -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(no gdb: no stacks)" }
        let gdb = Process()
        gdb.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
        gdb.arguments = ["-p", "\(pid)", "-batch", "-nx", "-ex", "thread apply all bt"]
        let pipe = Pipe()
        gdb.standardOutput = pipe
        gdb.standardError = pipe
        gdb.standardInput = FileHandle.nullDevice
        do { try gdb.run() } catch { return "(gdb failed: \(error))" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        gdb.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The logs of every process, for failure messages.
    var logs: String {
        processes.enumerated().map { "--- consumer \($0.offset) ---\n\($0.element.log.suffix(6000))" }.joined(separator: "\n")
    }

    deinit {
        for process in processes where process.isRunning { process.kill() }
        webhook.stop()
        // RETIREMENT_TEST_KEEP_LOGS=<dir> keeps every member's config and log there, for a flake's post-mortem.
        if let keep = ProcessInfo.processInfo.environment["RETIREMENT_TEST_KEEP_LOGS"] {
            let target = URL(fileURLWithPath: keep).appendingPathComponent(groupID)
            try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? FileManager.default.moveItem(at: directory, to: target)
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Prints a figure the closing note quotes (`FIGURE name: value`).
func figure(_ name: String, _ value: String) {
    print("FIGURE \(name): \(value)")
}
