import ArgumentParser
import Logging
import OperatorTools
import ServiceRuntime

struct DevClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-cluster",
        abstract: "Host a local Kafka cluster (librdkafka's mock cluster) for development and tests.",
        discussion: "Prints BROKERS=<host:port,...> as its first stdout line; runs until SIGTERM, SIGINT or end of stdin.")

    @Option(help: "Number of brokers.") var brokers: Int32 = 1
    @Option(help: "A topic to create (repeatable; pairs with --partitions in order).") var topic: [String] = []
    @Option(help: "Partitions of the topic at the same position (default 4).") var partitions: [Int32] = []
    @Flag(help: "Keep running at end of stdin (stop with a signal only).") var ignoreStdin = false

    func validate() throws {
        if partitions.count > topic.count { throw ValidationError("--partitions given without a matching --topic") }
        if brokers < 1 { throw ValidationError("--brokers must be at least 1") }
        if partitions.contains(where: { $0 < 1 }) { throw ValidationError("--partitions must be at least 1") }
    }

    func run() async throws {
        LogSetup.bootstrap(format: .text, level: .warning)
        let specs = topic.enumerated().map { index, name in
            DevCluster.TopicSpec(name: name, partitions: index < partitions.count ? partitions[index] : 4)
        }
        try await DevCluster.run(brokers: brokers, topics: specs, watchStdin: !ignoreStdin, logger: Logger(label: "dev-cluster"))
    }
}
