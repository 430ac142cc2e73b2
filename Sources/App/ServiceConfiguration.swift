import Destinations
import Engine
import Foundation
import Logging
import RetirementEvent

/// The whole service configuration (contract §4), validated.
public struct ServiceConfiguration: Sendable {
    /// `kafka:`
    public struct KafkaSection: Sendable {
        public var bootstrapServers: String
        /// The topic name with the optional prefix applied (`{prefix}-{topic}`).
        public var topic: String
        public var groupID: String
        public var deadLetterTopic: String
        /// `range`, `roundrobin` or `cooperative-sticky` (librdkafka's `partition.assignment.strategy`).
        public var assignmentStrategy: String
        /// Passed to librdkafka as is, over the service's defaults.
        public var properties: [String: String]
        /// Session timeout for the group (`session.timeout.ms`).
        public var sessionTimeout: Duration
    }

    /// `processing:`
    public struct ProcessingSection: Sendable {
        public var maxInFlight: Int
        public var maxBufferedPerPartition: Int
        public var retry: RetryPolicy
        public var shutdownGrace: Duration
        /// How long a revoked partition's in-flight work may finish before it is abandoned.
        public var revokeGrace: Duration
        /// How often a destination in configuration error is retried.
        public var configurationErrorRetryInterval: Duration
        /// Values larger than this are bad input (`too_large`).
        public var maxEventBytes: Int
    }

    /// `http:`
    public struct HTTPSection: Sendable {
        public var host: String
        public var port: Int
        public var enabled: Bool
    }

    /// `receipts:`
    public struct ReceiptsSection: Sendable {
        /// Kafka topic for receipts (`nil`: none).
        public var topic: String?
        /// Also write each receipt as a log line.
        public var log: Bool
    }

    /// `logging:`
    public struct LoggingSection: Sendable {
        public var level: String
        /// `json` or `text`.
        public var format: String
    }

    /// `encryption:`
    public struct EncryptionSection: Sendable {
        /// Decrypts encrypted events (`keyring`, `keyring_file` or `keyring_env`); `nil`: none configured.
        public var keyring: Keyring?
        /// The longest time an event can stay in the topics (the dead-letter topic's retention):
        /// a key older than this is reported by `keys check` and at start-up.
        public var longestRetention: Duration = .seconds(30 * 86_400)

        public init() {}
    }

    public var kafka: KafkaSection
    public var processing: ProcessingSection
    public var http: HTTPSection
    public var receipts: ReceiptsSection
    public var logging: LoggingSection
    /// `encryption:` (docs/encryption.md).
    public var encryption: EncryptionSection = EncryptionSection()
    /// Raw destination settings; built by ``DestinationRegistry``.
    public var destinations: [[String: ConfigValue]]

    /// Validates a resolved config tree; throws ``ConfigLoader/Failure`` with every problem found.
    public static func parse(_ tree: [String: ConfigValue], requireDestinations: Bool = true) throws -> ServiceConfiguration {
        var root = tree
        let problems = ConfigProblems()
        for message in ConfigLoader.takeResolutionProblems(&root) {
            let colon = message.firstIndex(of: ":")!
            problems.add(String(message[..<colon]), String(message[message.index(colon, offsetBy: 2)...]))
        }
        let reader = SettingsReader(path: "", values: root, problems: problems)
        let config = read(reader, requireDestinations: requireDestinations)
        reader.finish()
        if requireDestinations {
            let transport = HTTPTransport()
            let readers = config.destinations.enumerated().map {
                SettingsReader(path: "destinations[\($0.offset)]", values: $0.element, problems: problems)
            }
            _ = DestinationRegistry.build(readers, context: DestinationContext(transport: transport, logger: Logger(label: "config")))
        }
        guard problems.isEmpty else { throw ConfigLoader.Failure(problems: problems.messages) }
        return config
    }

    /// Loads, resolves and validates a config file.
    public static func load(path: String, requireDestinations: Bool = true) throws -> ServiceConfiguration {
        try parse(ConfigLoader.load(path: path, skipDestinations: !requireDestinations), requireDestinations: requireDestinations)
    }

    static func read(_ root: SettingsReader, requireDestinations: Bool) -> ServiceConfiguration {
        let problems = root.problems
        let kafkaReader = root.section("kafka")
        if kafkaReader == nil { problems.add("kafka", "required") }
        let k = kafkaReader ?? SettingsReader(path: "kafka", values: [:], problems: ConfigProblems())
        let baseTopic = k.string("topic", default: "user-retirement") ?? "user-retirement"
        let prefix = k.string("topic_prefix")
        let topic = prefix.map { "\($0)-\(baseTopic)" } ?? baseTopic
        let strategy = k.string("assignment_strategy", default: "range") ?? "range"
        if !["range", "roundrobin", "cooperative-sticky"].contains(strategy) {
            problems.add("kafka.assignment_strategy", "must be range, roundrobin or cooperative-sticky, got \"\(strategy)\"")
        }
        let kafka = KafkaSection(
            bootstrapServers: k.string("bootstrap_servers", required: true) ?? "",
            topic: topic,
            groupID: k.string("group_id", default: "retirement-consumer") ?? "retirement-consumer",
            deadLetterTopic: k.string("dead_letter_topic", default: "\(topic).dlq") ?? "\(topic).dlq",
            assignmentStrategy: strategy,
            properties: k.stringMap("properties"),
            sessionTimeout: k.duration("session_timeout", default: .seconds(45), minimum: .seconds(3)))
        k.finish()

        let p = root.section("processing") ?? SettingsReader(path: "processing", values: [:], problems: problems)
        let maxInFlight = p.int("max_in_flight", default: 1000, range: 1...1_000_000)
        let retryReader = p.section("retry") ?? SettingsReader(path: "processing.retry", values: [:], problems: problems)
        let retry = RetryPolicy(
            initialBackoff: retryReader.duration("initial_backoff", default: .seconds(1), minimum: .milliseconds(1)),
            maxBackoff: retryReader.duration("max_backoff", default: .seconds(300), minimum: .milliseconds(1)),
            maxAttempts: retryReader.int("max_attempts", default: 10, range: 1...1_000_000),
            maxRetryAfter: retryReader.duration("max_retry_after", default: .seconds(3600)))
        if retry.maxBackoff < retry.initialBackoff {
            problems.add("processing.retry.max_backoff", "must not be shorter than initial_backoff")
        }
        retryReader.finish()
        let processing = ProcessingSection(
            maxInFlight: maxInFlight,
            maxBufferedPerPartition: p.int("max_buffered_per_partition", default: maxInFlight, range: 1...10_000_000),
            retry: retry,
            shutdownGrace: p.duration("shutdown_grace", default: .seconds(20)),
            revokeGrace: p.duration("revoke_grace", default: .seconds(5)),
            configurationErrorRetryInterval: p.duration("configuration_error_retry_interval", default: .seconds(30), minimum: .milliseconds(10)),
            maxEventBytes: p.int("max_event_bytes", default: 64 * 1024, range: 256...100_000_000))
        p.finish()

        let h = root.section("http") ?? SettingsReader(path: "http", values: [:], problems: problems)
        let listen = h.string("listen", default: "127.0.0.1:9464") ?? "127.0.0.1:9464"
        let enabled = h.bool("enabled", default: true)
        var host = "127.0.0.1"
        var port = 9464
        if let colon = listen.lastIndex(of: ":"), let number = Int(listen[listen.index(after: colon)...]), (0...65535).contains(number) {
            host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            port = number
        } else {
            problems.add("http.listen", "must be host:port, got \"\(listen)\"")
        }
        h.finish()

        let r = root.section("receipts") ?? SettingsReader(path: "receipts", values: [:], problems: problems)
        let receipts = ReceiptsSection(topic: r.string("topic"), log: r.bool("log", default: false))
        r.finish()

        let l = root.section("logging") ?? SettingsReader(path: "logging", values: [:], problems: problems)
        let level = l.string("level", default: "info") ?? "info"
        if !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
            problems.add("logging.level", "must be one of trace, debug, info, notice, warning, error, critical")
        }
        let format = l.string("format", default: "json") ?? "json"
        if !["json", "text"].contains(format) { problems.add("logging.format", "must be json or text") }
        l.finish()

        let encryption = readEncryption(root.section("encryption"), problems: problems)

        var destinations: [[String: ConfigValue]] = []
        if root.has("destinations") {
            if case .list(let items)? = root.values["destinations"] {
                for (index, item) in items.enumerated() {
                    if case .map(let map) = item { destinations.append(map) } else {
                        problems.add("destinations[\(index)]", "must be a mapping, got \(item.kind)")
                    }
                }
            } else {
                problems.add("destinations", "must be a list")
            }
        }
        root.allow("destinations")
        if requireDestinations, destinations.isEmpty {
            problems.add("destinations", "at least one destination is required")
        }
        return ServiceConfiguration(
            kafka: kafka, processing: processing, http: HTTPSection(host: host, port: port, enabled: enabled),
            receipts: receipts, logging: LoggingSection(level: level, format: format), encryption: encryption,
            destinations: destinations)
    }

    static func readEncryption(_ reader: SettingsReader?, problems: ConfigProblems) -> EncryptionSection {
        var section = EncryptionSection()
        guard let reader else { return section }
        if let text = reader.string("keyring"), text != "<unresolved>" {
            do {
                section.keyring = try Keyring.parse(text)
            } catch {
                problems.add("encryption.keyring", error.description)
            }
        }
        section.longestRetention = reader.duration("longest_retention", default: .seconds(30 * 86_400), minimum: .seconds(3600))
        reader.finish()
        return section
    }

    /// Builds the destinations; throws with every problem in their settings.
    public func buildDestinations(context: DestinationContext) throws -> [DestinationPipeline] {
        let problems = ConfigProblems()
        let readers = destinations.enumerated().map {
            SettingsReader(path: "destinations[\($0.offset)]", values: $0.element, problems: problems)
        }
        let pipelines = DestinationRegistry.build(readers, context: context)
        guard problems.isEmpty else { throw ConfigLoader.Failure(problems: problems.messages) }
        return pipelines
    }

    /// librdkafka consumer properties: the service's defaults, then `kafka.properties`.
    public func consumerProperties(groupID: String? = nil) -> [String: String] {
        var values: [String: String] = [
            "bootstrap.servers": kafka.bootstrapServers,
            "group.id": groupID ?? kafka.groupID,
            "client.id": "retirement-consumer",
            "enable.auto.offset.store": "false",
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": "200",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": "false",
            "partition.assignment.strategy": kafka.assignmentStrategy,
            "session.timeout.ms": String(Int64(kafka.sessionTimeout.seconds * 1000)),
            "statistics.interval.ms": "5000",
            "queued.max.messages.kbytes": "16384",
            // librdkafka's default. At 10000, librdkafka 2.0.2 stopped fetching a partition whose
            // queue had reached it and looked again only at its broker thread's next wakeup (up to
            // 1 s): consumption ran at ~30k records/s instead of ~300k (docs/performance.md).
            // Memory stays bounded by queued.max.messages.kbytes and the engine's pausing.
            "queued.min.messages": "100000",
            "fetch.wait.max.ms": "100",
            "log_level": "4",
        ]
        values.merge(kafka.properties) { _, new in new }
        // The at-least-once pattern needs these; they are not negotiable.
        values["enable.auto.offset.store"] = "false"
        return values
    }

    /// librdkafka producer properties for the dead-letter and receipt topics.
    public func producerProperties() -> [String: String] {
        var values: [String: String] = [
            "bootstrap.servers": kafka.bootstrapServers,
            "client.id": "retirement-consumer-dlq",
            "log_level": "4",
        ]
        let consumerOnly: Set<String> = [
            "group.id", "session.timeout.ms", "heartbeat.interval.ms", "auto.offset.reset", "enable.auto.commit",
            "auto.commit.interval.ms", "partition.assignment.strategy", "max.poll.interval.ms", "fetch.wait.max.ms",
            "queued.max.messages.kbytes", "queued.min.messages", "enable.partition.eof", "group.instance.id",
            "fetch.min.bytes", "fetch.max.bytes", "max.partition.fetch.bytes", "isolation.level", "enable.auto.offset.store",
            "statistics.interval.ms",
        ]
        for (key, value) in kafka.properties where !consumerOnly.contains(key) { values[key] = value }
        return values
    }
}
