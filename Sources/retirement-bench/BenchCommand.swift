import ArgumentParser

/// `retirement-bench`: the benchmark's command line (`scripts/benchmark.sh` runs it).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retirement-bench",
        abstract: "Measured runs of retirement-consumer against the mock cluster and local HTTP servers (docs/performance.md).")

    enum Section: String, ExpressibleByArgument, CaseIterable {
        case raw, latency, batch, memory, rebalance
    }

    @Option(help: "Sections to run, comma-separated: raw,latency,batch,memory,rebalance (default: all).")
    var only: String = Section.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Events of the raw-throughput runs.") var rawEvents = 500_000
    @Option(help: "Backlog of the memory run.") var memoryEvents = 1_000_000
    @Option(help: "Seconds the memory run may take.") var memorySeconds = 45.0
    @Option(help: "Partition counts of the latency-bound runs, comma-separated.") var latencyPartitions = "1,12"
    @Option(help: "max_in_flight values of the latency-bound runs, comma-separated.") var latencyInFlight = "64,256,1024"
    @Option(help: "An extra librdkafka property for every run, KEY=VALUE (repeatable).") var kafkaProperty: [String] = []
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
        for property in kafkaProperty where property.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--kafka-property takes KEY=VALUE, got \(property)")
        }
    }

    func run() async throws {
        var options = Bench.Options()
        options.only = Set(sections.map(\.rawValue))
        options.rawEvents = rawEvents
        options.memoryEvents = memoryEvents
        options.memorySeconds = memorySeconds
        options.latencyPartitions = latencyPartitions.split(separator: ",").compactMap { Int32($0) }
        options.latencyInFlight = latencyInFlight.split(separator: ",").compactMap { Int($0) }
        options.kafkaProperties = kafkaProperty.map {
            let pair = $0.split(separator: "=", maxSplits: 1).map(String.init)
            return (pair[0], pair[1])
        }
        options.keep = keep
        try await Bench.run(options)
    }
}
