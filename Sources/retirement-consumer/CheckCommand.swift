import ArgumentParser
import Foundation
import Logging
import OperatorTools
import ServiceRuntime

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and reach Kafka and each destination (credentials included where the API allows).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try loadConfiguration(options.config)
        LogSetup.bootstrap(format: .text, level: .warning)
        if let keyring = config.encryption.keyring {
            // Not a failure: the operator's rotation schedule (docs/runbook.md, "Key rotation").
            for finding in KeyringAudit.check(keyring, longestRetention: config.encryption.longestRetention, now: Date().timeIntervalSince1970)
            where finding.level == .warning {
                printError("keyring \(finding)")
            }
        }
        print("encryption: \(EncryptionMode(config.encryption).description)")
        let problems = await ServiceCheck.run(config, logger: Logger(label: "check"))
        if problems.isEmpty {
            print("ok: configuration valid; Kafka and \(config.destinations.count) destination(s) reachable")
            return
        }
        for problem in problems { printError("problem: \(problem)") }
        throw ExitCode(1)
    }
}
