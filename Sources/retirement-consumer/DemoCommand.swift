import ArgumentParser
import Metrics
import OperatorTools
import Prometheus
import ServiceRuntime

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the main job on the embedded default: an in-process Kafka cluster, sample retirements, local destinations.")

    @Option(help: "Sample retirement events to publish.") var events = 300
    @Option(help: "Partitions of the demo topic.") var partitions: Int32 = 6

    func validate() throws {
        guard (1...100_000).contains(events) else { throw ValidationError("--events must be between 1 and 100000") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 64") }
    }

    func run() async throws {
        LogSetup.bootstrap(format: .text, level: .critical)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var options = Demo.Options()
        options.events = events
        options.partitions = partitions
        let ok = try await Demo.run(options: options, registry: registry) { FileHandleWriter.writeStdout($0 + "\n") }
        if !ok { throw ExitCode(1) }
    }
}
