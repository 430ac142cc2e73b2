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

    @Option(parsing: .upToNextOption, help: "Sections to run (default: all).") var only: [Section] = Section.allCases
    @Option(help: "Events of the raw-throughput runs.") var rawEvents = 500_000
    @Option(help: "Backlog of the memory run.") var memoryEvents = 1_000_000
    @Option(help: "Seconds the memory run may take.") var memorySeconds = 45.0
    @Option(parsing: .upToNextOption, help: "Partition counts of the latency-bound runs.") var latencyPartitions: [Int32] = [1, 12]
    @Option(parsing: .upToNextOption, help: "max_in_flight values of the latency-bound runs.") var latencyInFlight: [Int] = [64, 256, 1024]
    @Option(help: "An extra librdkafka property for every run, KEY=VALUE (repeatable).") var kafkaProperty: [String] = []
    @Flag(help: "Keep the temporary directory with configs and logs.") var keep = false

    func validate() throws {
        for property in kafkaProperty where property.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--kafka-property takes KEY=VALUE, got \(property)")
        }
    }

    func run() async throws {
        var options = Bench.Options()
        options.only = Set(only.map(\.rawValue))
        options.rawEvents = rawEvents
        options.memoryEvents = memoryEvents
        options.memorySeconds = memorySeconds
        options.latencyPartitions = latencyPartitions
        options.latencyInFlight = latencyInFlight
        options.kafkaProperties = kafkaProperty.map {
            let pair = $0.split(separator: "=", maxSplits: 1).map(String.init)
            return (pair[0], pair[1])
        }
        options.keep = keep
        try await Bench.run(options)
    }
}
