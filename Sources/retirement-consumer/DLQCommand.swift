import ArgumentParser
import Logging
import OperatorTools
import ServiceRuntime

struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect and redrive the dead-letter topic.",
        subcommands: [ListCommand.self, RedriveCommand.self])

    struct ListCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Dead-lettered events counted by reason and destination (no personal data).")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try loadConfiguration(options.config, requireDestinations: false)
            LogSetup.bootstrap(format: .text, level: .warning)
            let report = try DeadLetterSummary.count(config, logger: Logger(label: "dlq"))
            print("dead-letter topic \(config.kafka.deadLetterTopic): still owed beyond the redrive position")
            print(pad("reason", 34) + pad("destination", 24) + "count")
            for row in report.rows { print(pad(row.reason, 34) + pad(row.destination, 24) + "\(row.count)") }
            print("records beyond the redrive position: \(report.beyondRedrivePosition)")
            print("records behind it (redriven, or written again further on): \(report.behindRedrivePosition)")
        }
    }

    struct RedriveCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "redrive",
            abstract: "Re-apply dead-lettered events to the destinations they still owe; commit only after success.",
            discussion: """
                Uses the consumer group <group_id>.dlq-redrive on the dead-letter topic. A record is committed past \
                only once every destination it owed is erased or it is dead-lettered again naming what it still owes. \
                Exits 0 when everything it was asked to redrive is erased, 1 when something owed is still owed \
                (the summary says what, by destination).
                """)

        @OptionGroup var options: ConfigOption
        @Option(help: "Only these destinations (repeatable); default: every destination owed.") var destination: [String] = []
        @Flag(help: "Count what would be redriven; apply and commit nothing.") var dryRun = false

        func run() async throws {
            let config = try loadConfiguration(options.config)
            LogSetup.bootstrap(format: config.logging.format, level: config.logging.level == .info ? .warning : config.logging.level)
            let logger = Logger(label: "dlq-redrive")
            let resources = try openErasureResources(config, only: destination, apply: !dryRun, logger: logger)
            let summary = try await DeadLetterRedrive.run(
                config, only: Set(destination), dryRun: dryRun, destinations: resources.selected, processor: resources.processor, logger: logger)
            await resources.shutDown()
            print("read \(summary.read) dead-letter records from \(config.kafka.deadLetterTopic)\(dryRun ? " (dry run)" : "")")
            for (name, count) in summary.owedByDestination.sorted(by: { $0.key < $1.key }) { print("  owed by \(name): \(count)") }
            if dryRun { return }
            print("redriven \(summary.redriven); dead-lettered again \(summary.deadLetteredAgain); bad input skipped \(summary.skippedBadInput)")
            if summary.keyUnavailable > 0 {
                print("  key still unavailable (written again; deploy the key, then redrive): \(summary.keyUnavailable)")
            }
            for (name, count) in summary.carriedForwardByDestination.sorted(by: { $0.key < $1.key }) {
                print("  carried forward, not selected: \(name): \(count)")
            }
            for (name, count) in summary.unsettledByDestination.sorted(by: { $0.key < $1.key }) {
                print("  still owed by \(name): \(count)")
            }
            if !summary.settledEverything {
                print("not everything owed could be settled; the records are dead-lettered again (see dlq list)")
                throw ExitCode(1)
            }
        }
    }
}
