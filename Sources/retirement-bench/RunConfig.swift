import Foundation
import Kafka
import Logging
import ServiceRuntime
import Synchronization

/// The service's configuration for one benchmark run.
struct RunConfig {
    var topic: String
    var group: String
    var processing: [String] = []
    var destination: String = "  - name: bench\n    type: noop"
    /// The `encryption:` section's lines (indented two spaces), or empty for none.
    var encryption: String = ""

    func write(brokers: String, to url: URL, extra: [(String, String)] = [], processing extraProcessing: [(String, String)] = []) throws -> String {
        let keys = Set(extraProcessing.map(\.0))
        let settings = processing.filter { line in !keys.contains(String(line.prefix { $0 != ":" })) } + extraProcessing.map { "\($0.0): \($0.1)" }
        let yaml = """
            kafka:
              bootstrap_servers: "\(brokers)"
              topic: \(topic)
              group_id: \(group)
              assignment_strategy: range
              properties:
                session.timeout.ms: "6000"
                heartbeat.interval.ms: "300"
                auto.commit.interval.ms: "50"
                log_level: "3"
            \(extra.map { "    \($0.0): \"\($0.1)\"" }.joined(separator: "\n"))
            processing:
              shutdown_grace: 5s
            \(settings.map { "  \($0)" }.joined(separator: "\n"))
            http:
              enabled: false
            logging:
              level: info
              format: json
            \(encryption.isEmpty ? "" : "encryption:\n\(encryption)")
            destinations:
            \(destination)

            """
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
