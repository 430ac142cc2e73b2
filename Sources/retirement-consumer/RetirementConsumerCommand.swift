import ArgumentParser
import ServiceRuntime

/// `retirement-consumer`: erases retired Open edX learners from external systems.
@main
struct RetirementConsumerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retirement-consumer",
        abstract: "Applies Open edX learner retirements from Kafka to external systems.",
        subcommands: [
            RunCommand.self, DemoCommand.self, DevClusterCommand.self, CheckCommand.self, StatusCommand.self,
            ReplayCommand.self, DLQCommand.self, KeysCommand.self,
        ])
}
