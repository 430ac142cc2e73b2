import ConfigFile
import Destinations
import Foundation
import ServiceRuntime
import Testing

@Suite struct ConfigurationTests {
    /// A webhook secret long enough to be accepted (32 bytes or more).
    static let secret = "a-webhook-secret-of-thirty-two-bytes"
    func problems(_ yaml: String, env: [String: String] = [:]) -> [String] {
        do {
            let tree = try ConfigLoader.parse(yaml: yaml, environment: env)
            _ = try ServiceConfiguration.parse(tree)
            return []
        } catch let failure as ConfigLoader.Failure {
            return failure.problems
        } catch {
            return ["\(error)"]
        }
    }

    let valid = """
        kafka:
          bootstrap_servers: "127.0.0.1:9092"
        destinations:
          - name: crm
            type: webhook
            url: "https://crm.example.org/erase"
            secret_env: CRM_SECRET
        """

    @Test func contractExampleParsesWithDefaults() throws {
        let config = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: valid, environment: ["CRM_SECRET": Self.secret]))
        #expect(config.kafka.topic == "user-retirement")
        #expect(config.kafka.deadLetterTopic == "user-retirement.dlq")
        #expect(config.kafka.groupID == "retirement-consumer")
        #expect(config.processing.maxInFlight == 1000)
        #expect(config.processing.retry.maxAttempts == 10)
        #expect(config.processing.shutdownGrace == .seconds(20))
        #expect(config.http.port == 9464)
        #expect(config.consumerProperties()["enable.auto.offset.store"] == "false")
        #expect(config.consumerProperties()["partition.assignment.strategy"] == "range")
    }

    /// Properties that would change who commits what are refused, naming the key and why.
    @Test func propertiesThatChangeWhoCommitsAreRefused() {
        let yaml = valid.replacingOccurrences(
            of: "  bootstrap_servers: \"127.0.0.1:9092\"",
            with: """
                  bootstrap_servers: "127.0.0.1:9092"
                  properties:
                    group.id: retirement-consumer
                    enable.auto.offset.store: "true"
                    enable.auto.commit: "false"
                    partition.assignment.strategy: roundrobin
                    security.protocol: SASL_SSL
                """)
        let found = problems(yaml, env: ["CRM_SECRET": Self.secret])
        for key in ["group.id", "enable.auto.offset.store", "enable.auto.commit", "partition.assignment.strategy"] {
            #expect(found.contains { $0.hasPrefix("kafka.properties.\(key): not allowed:") }, "\(key): \(found)")
        }
        #expect(found.count == 4, "\(found)")
    }

    /// A property librdkafka does not know, or a value it refuses, is a configuration problem
    /// naming the key (exit 2 with every other problem), not a failure when the client starts.
    @Test func unknownOrInvalidLibrdkafkaPropertiesAreConfigurationProblems() {
        let yaml = valid.replacingOccurrences(
            of: "  bootstrap_servers: \"127.0.0.1:9092\"",
            with: """
                  bootstrap_servers: "127.0.0.1:9092"
                  properties:
                    no.such.property: "1"
                    security.protocol: carrier-pigeon
                    sasl.mechanism: PLAIN
                """)
        let found = problems(yaml, env: ["CRM_SECRET": Self.secret])
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.hasPrefix("kafka.properties.no.such.property: ") })
        #expect(found.contains { $0.hasPrefix("kafka.properties.security.protocol: ") })
    }

    /// A destination named like a dead-letter reason would be mislabelled in dlq list and metrics.
    @Test func destinationNamesCannotBeReasonCodes() {
        let yaml = valid.replacingOccurrences(of: "- name: crm", with: "- name: too_large")
        #expect(
            problems(yaml, env: ["CRM_SECRET": Self.secret]) == [
                "destinations[0].name: must not be a dead-letter reason code ('too_large')"
            ])
    }

    /// Replay and redrive consumers never inherit the service's member identity.
    @Test func toolConsumersNeverInheritAMemberIdentity() throws {
        let yaml = valid.replacingOccurrences(
            of: "  bootstrap_servers: \"127.0.0.1:9092\"",
            with: """
                  bootstrap_servers: "127.0.0.1:9092"
                  properties:
                    group.instance.id: pod-0
                """)
        let config = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: ["CRM_SECRET": Self.secret]))
        #expect(config.consumerProperties()["group.instance.id"] == "pod-0")
        #expect(config.consumerProperties()["group.id"] == "retirement-consumer")
        for tool in ["retirement-consumer.replay", "retirement-consumer.dlq-redrive"] {
            let properties = config.consumerProperties(groupID: tool)
            #expect(properties["group.id"] == tool)
            #expect(properties["group.instance.id"] == nil)
            #expect(properties["enable.auto.commit"] == "false")
        }
    }

    /// The poll thread's longest block (a revoke) must stay below the liveness limit.
    @Test func livenessMustOutlastARevoke() {
        let yaml =
            valid + """

                processing:
                  revoke_grace: 30s
                  commit_timeout: 10s
                http:
                  liveness_timeout: 40s
                """
        let found = problems(yaml, env: ["CRM_SECRET": Self.secret])
        #expect(found.count == 1 && found[0].hasPrefix("http.liveness_timeout: must be longer than"), "\(found)")
    }

    @Test func topicPrefixAppliesToTopicAndDeadLetterTopic() throws {
        let yaml = valid.replacingOccurrences(of: "  bootstrap_servers", with: "  topic_prefix: prod\n  bootstrap_servers")
        let config = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: ["CRM_SECRET": Self.secret]))
        #expect(config.kafka.topic == "prod-user-retirement")
        #expect(config.kafka.deadLetterTopic == "prod-user-retirement.dlq")
    }

    @Test func everyProblemIsReportedWithItsKey() {
        let yaml = """
            kafka:
              topic: 5
              assignment_strategy: sticky
              bootstrap_server: "typo"
            processing:
              max_in_flight: 0
              shutdown_grace: 20
              retry:
                initial_backoff: 10s
                max_backoff: 1s
            http:
              listen: "nowhere"
            destinations:
              - name: crm
                type: carrier-pigeon
              - type: webhook
                url: "ftp://x"
              - name: crm
                type: webhook
                url: "http://a"
                secret: "s"
                secret_env: ALSO
            """
        let found = problems(yaml, env: ["ALSO": "x"])
        let expected = [
            "kafka.bootstrap_servers: required",
            "kafka.assignment_strategy: must be range, roundrobin or cooperative-sticky, got \"sticky\"",
            "kafka.bootstrap_server: unknown key",
            "processing.max_in_flight: must be between 1 and 1000000, got 0",
            "processing.shutdown_grace: must be a duration like \"500ms\", \"30s\", \"5m\", got \"20\"",
            "processing.retry.max_backoff: must not be shorter than initial_backoff",
            "http.listen: must be host:port, got \"nowhere\"",
            "destinations[2].secret: set both directly and through 'secret_env'; keep one",
        ]
        for message in expected {
            #expect(found.contains(message), "missing: \(message)\nfound: \(found)")
        }
        #expect(
            found.contains { $0.hasPrefix("destinations[0].type: unknown destination type 'carrier-pigeon'") }
                || found.contains {
                    $0.contains("destinations[0]")
                })
    }

    @Test func destinationProblemsAreReported() {
        let yaml = """
            kafka:
              bootstrap_servers: "b:9092"
            destinations:
              - name: crm
                type: carrier-pigeon
              - type: webhook
                url: "ftp://x"
              - name: a
                type: webhook
                url: "http://a"
                colour: blue
            """
        let found = problems(yaml)
        #expect(found.contains { $0.hasPrefix("destinations[0].type: unknown destination type 'carrier-pigeon'") })
        #expect(found.contains("destinations[1].name: required"))
        #expect(found.contains("destinations[1].url: must be an http:// or https:// URL"))
        #expect(found.contains("destinations[2].colour: unknown key"))
    }

    @Test func noDestinationsIsAnError() {
        #expect(problems("kafka:\n  bootstrap_servers: \"b:1\"\n") == ["destinations: at least one destination is required"])
    }
}

/// The README's example of every destination type is a valid configuration.
@Suite struct READMEExampleTests {
    @Test func everyDestinationExampleInTheREADMEBuilds() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.range(of: "### Destinations"))
        let rest = text[section.upperBound...]
        let start = try #require(rest.range(of: "```yaml\n"))
        let end = try #require(rest[start.upperBound...].range(of: "```"))
        let block = String(rest[start.upperBound..<end.lowerBound])
        var environment: [String: String] = [:]
        for line in block.split(separator: "\n") {
            if let range = line.range(of: "_env: ") {
                let name = line[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
                environment[name] = name.hasPrefix("MAILCHIMP") ? "key-us6" : "postgres://u:p@127.0.0.1:5432/db"
            }
        }
        let yaml = "kafka:\n  bootstrap_servers: \"127.0.0.1:9092\"\n" + block
        let config = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: environment))
        let transport = HTTPTransport()
        let pipelines = config.buildDestinations(context: DestinationContext(transport: transport, logger: .init(label: "t")))
        #expect(pipelines.count == DestinationRegistry.factories.count)
        #expect(Set(config.destinations.map(\.type)) == Set(DestinationRegistry.factories.keys))
    }
}
