import ArgumentParser
import Logging
import OperatorTools
import ServiceRuntime

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-apply the events whose Kafka timestamps fall in [--from, --to) to the named destinations.",
        discussion: """
            Runs under its own consumer group (<group_id>.replay) with manual assignment: the service's group \
            and its committed offsets are not touched, so it can run while the service runs. Times are RFC 3339 \
            or a duration back from now (24h, 7d).
            """)

    @OptionGroup var options: ConfigOption
    @Option(help: "Start of the window (inclusive).") var from: TimeArgument
    @Option(help: "End of the window (exclusive); default: now.") var to: TimeArgument?
    @Option(help: "Only these destinations (repeatable); default: all.") var destination: [String] = []
    @Flag(help: "Print per partition the start and end offsets and the count in the window; apply nothing.") var dryRun = false

    func run() async throws {
        let config = try loadConfiguration(options.config)
        LogSetup.bootstrap(format: config.logging.format, level: config.logging.level == .info ? .warning : config.logging.level)
        let logger = Logger(label: "replay")
        let toMs = to?.milliseconds
        if let toMs, toMs <= from.milliseconds { throw ValidationError("--to must be after --from") }
        let plans = try Replay.plan(config, fromMs: from.milliseconds, toMs: toMs, logger: logger)
        print("replay of \(config.kafka.topic) from \(rfc3339(from.milliseconds)) to \(toMs.map(rfc3339) ?? "now")")
        print(pad("partition", 11) + pad("start", 12) + pad("end", 12) + "in window")
        for plan in plans { print(pad("\(plan.partition)", 11) + pad("\(plan.start)", 12) + pad("\(plan.end)", 12) + "\(plan.inWindow)") }
        print("total in window: \(plans.map(\.inWindow).reduce(0, +))")
        if dryRun { return }

        let resources = try openErasureResources(config, only: destination, logger: logger)
        let summary = try await Replay.run(config, plans: plans, fromMs: from.milliseconds, toMs: toMs, using: resources, logger: logger)
        await resources.shutDown()
        print(
            "applied \(summary.applied) to \(resources.selected.map(\.name).joined(separator: ", ")); dead-lettered \(summary.deadLettered); skipped bad input \(summary.skippedBadInput)"
        )
        if summary.abandoned > 0 { throw ExitCode(1) }
    }
}
