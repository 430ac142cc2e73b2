import ArgumentParser
import ConfigFile
import Foundation
import Logging
import Metrics
import OperatorTools
import Prometheus
import ServiceRuntime

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the consumer-group service until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        MallocArenas.limit()
        let config = try loadConfiguration(options.config)
        LogSetup.bootstrap(format: config.logging.format, level: config.logging.level)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "retirement-consumer")
        logger.info("encryption", metadata: ["mode": "\(EncryptionMode(config.encryption).rawValue)"])
        if let keyring = config.encryption.keyring {
            logger.info("keyring loaded", metadata: ["keys": "\(keyring.keys.map(\.id).joined(separator: ","))"])
            for finding in KeyringAudit.check(keyring, longestRetention: config.encryption.longestRetention, now: Date().timeIntervalSince1970)
            where finding.level == .warning {
                logger.warning("\(finding.message)")
            }
        }
        let service = try RetirementService.build(configuration: config, registry: registry, logger: logger, exitAtStopDeadline: true)
        logger.info("starting", metadata: ["destinations": "\(service.destinations.map(\.name))"])
        try await service.run()
        logger.info("stopped")
    }
}

/// Loads and validates a config file; prints every problem and exits 2 when it is invalid.
func loadConfiguration(_ path: String, requireDestinations: Bool = true) throws -> ServiceConfiguration {
    do {
        return try ServiceConfiguration.load(path: path, requireDestinations: requireDestinations)
    } catch let failure as ConfigLoader.Failure {
        printError("invalid configuration \(path):")
        for problem in failure.problems { printError("  - \(problem)") }
        throw ExitCode(2)
    }
}

func printError(_ text: String) {
    var stream = StandardError()
    print(text, to: &stream)
}
