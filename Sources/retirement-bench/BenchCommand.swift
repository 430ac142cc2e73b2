import ArgumentParser
import Foundation

/// `retirement-bench`: the benchmark's command line (`scripts/benchmark.sh` runs it).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retirement-bench",
        abstract: "Measured runs of retirement-consumer against the mock cluster and local HTTP servers (docs/performance.md).",
        discussion: """
            The main binary is RETIREMENT_CONSUMER_BIN (default: retirement-consumer next to this executable). The latency, \
            memory and peer sections use scripts/bench/webhook_server.py (50 ms) as a child process and the peer section \
            scripts/bench/peer_consumer.py, both run by --python (scripts/bench/setup.sh creates that venv). Progress goes \
            to stderr; the table and the goals table (Markdown) to stdout.
            """)

    enum Section: String, ExpressibleByArgument, CaseIterable {
        case raw, latency, batch, memory, rebalance, peer
    }

    @Option(help: "Sections to run, comma-separated: raw,latency,batch,memory,rebalance,peer (default: all).")
    var only: String = Section.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Events of the raw-throughput runs (long enough for several seconds per reader).") var rawEvents = 1_000_000
    @Option(help: "Rounds of the raw section, interleaving kcat and ours; each row is their median (at least 1).") var rawRounds = 5
    @Option(help: "Backlog of the memory run.") var memoryEvents = 1_000_000
    @Option(help: "Seconds the memory run may take.") var memorySeconds = 45.0
    @Option(help: "Partition counts of the latency-bound runs, comma-separated.") var latencyPartitions = "1,12"
    @Option(help: "max_in_flight values of the latency-bound runs, comma-separated.") var latencyInFlight = "64,256,1024"
    @Option(help: "An extra librdkafka property for every run, KEY=VALUE (repeatable).") var kafkaProperty: [String] = []
    @Option(help: "A processing setting for every run, KEY=VALUE (repeatable; replaces the row's own).") var processing: [String] = []
    @Option(help: "Events in the peer section's topic (12 partitions); run reads them all.") var peerBacklog = 40_000
    @Option(help: "Events the peer (scripts/bench/peer_consumer.py) handles before it stops.") var peerEvents = 200
    @Option(help: "Python of the helper processes (default: <repo>/.venv-bench/bin/python, made by scripts/bench/setup.sh).")
    var python: String?
    @Option(help: "A second retirement-consumer (e.g. the commit before): every run row of raw, latency, batch, memory, peer first runs it (\"[baseline]\").")
    var baselineBinary: String?
    @Flag(help: "Keep the temporary directory with configs and logs.") var keep = false

    /// The sections named with `--only`.
    var sections: [Section] { only.split(separator: ",").compactMap { Section(rawValue: String($0)) } }

    func validate() throws {
        for name in only.split(separator: ",") where Section(rawValue: String(name)) == nil {
            throw ValidationError("--only: unknown section \(name); known: \(Section.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for (flag, list) in [("--latency-partitions", latencyPartitions), ("--latency-in-flight", latencyInFlight)] {
            for item in list.split(separator: ",") where Int(item).map({ $0 > 0 }) != true {
                throw ValidationError("\(flag) takes positive whole numbers separated by commas, got \(item)")
            }
        }
        if rawRounds < 1 || rawEvents < 1 {
            throw ValidationError("--raw-rounds and --raw-events take positive numbers")
        }
        if peerBacklog < 1 || peerEvents < 1 || peerEvents > peerBacklog {
            throw ValidationError("--peer-events and --peer-backlog take positive numbers, --peer-events at most --peer-backlog")
        }
        if let baselineBinary, !FileManager.default.isExecutableFile(atPath: baselineBinary) {
            throw ValidationError("--baseline-binary: no executable at \(baselineBinary)")
        }
        for property in kafkaProperty where property.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--kafka-property takes KEY=VALUE, got \(property)")
        }
        for setting in processing where setting.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--processing takes KEY=VALUE, got \(setting)")
        }
    }

    func run() async throws {
        var options = Bench.Options()
        options.only = Set(sections.map(\.rawValue))
        options.rawEvents = rawEvents
        options.rawRounds = rawRounds
        options.memoryEvents = memoryEvents
        options.memorySeconds = memorySeconds
        options.latencyPartitions = latencyPartitions.split(separator: ",").compactMap { Int32($0) }
        options.latencyInFlight = latencyInFlight.split(separator: ",").compactMap { Int($0) }
        options.processingSettings = processing.map {
            let pair = $0.split(separator: "=", maxSplits: 1).map(String.init)
            return (pair[0], pair[1])
        }
        options.kafkaProperties = kafkaProperty.map {
            let pair = $0.split(separator: "=", maxSplits: 1).map(String.init)
            return (pair[0], pair[1])
        }
        options.keep = keep
        options.peerBacklog = peerBacklog
        options.peerEvents = peerEvents
        options.repository = repositoryRoot()
        options.python = python.map { URL(fileURLWithPath: $0) }
        options.baselineBinary = baselineBinary.map { URL(fileURLWithPath: $0) }
        try await Bench.run(options)
    }
}
