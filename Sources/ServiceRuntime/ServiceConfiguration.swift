import ConfigFile
import Destinations
import Engine
import Foundation
import Kafka
import Logging
import RetirementEvent

/// The whole service configuration (docs/contract.md#config), validated.
package struct ServiceConfiguration: Sendable {
    /// `kafka:`
    package struct KafkaSection: Sendable {
        package var bootstrapServers: String
        /// The topic name with the optional prefix applied (`{prefix}-{topic}`).
        package var topic: String
        package var groupID: String
        package var deadLetterTopic: String
        /// librdkafka's `partition.assignment.strategy`.
        package var assignmentStrategy: AssignmentStrategy
        /// Passed to librdkafka as is, over the service's defaults.
        package var properties: [String: String]
        /// Session timeout for the group (`session.timeout.ms`).
        package var sessionTimeout: Duration
        /// Kilobytes of records librdkafka may hold read ahead (`prefetch_kbytes`): its
        /// `queued.max.messages.kbytes`, and the largest fetch response (`fetch.max.bytes`, at
        /// least 1,000,000 as librdkafka requires).
        package var prefetchKBytes: Int
    }

    /// `processing:`
    package struct ProcessingSection: Sendable {
        package var maxInFlight: Int
        package var maxBufferedPerPartition: Int
        /// Events taken and not done across all partitions (`max_buffered`, default 4 × max_in_flight).
        package var maxBuffered: Int
        package var retry: RetryPolicy
        package var shutdownGrace: Duration
        /// How long a revoked partition's in-flight work may finish before it is abandoned.
        package var revokeGrace: Duration
        /// How often a destination in configuration error is retried.
        package var configurationErrorRetryInterval: Duration
        /// Values larger than this are bad input (`too_large`).
        package var maxEventBytes: Int
        /// The deadline of every destination call (`call_timeout`).
        package var callTimeout: Duration
        /// Offsets taken but not committable, per partition, before the partition is paused.
        package var maxUncommittedPerPartition: Int
        /// An event unfinished for longer is logged at WARNING (once per event).
        package var stuckEventWarning: Duration
        /// How long an offset commit in a revoke or at shutdown may wait for the broker.
        package var commitTimeout: Duration
        /// Receipts waiting to be written before new ones are dropped (and counted).
        package var receiptQueueSize: Int
    }

    /// `http:`
    package struct HTTPSection: Sendable {
        package var host: String
        package var port: Int
        package var enabled: Bool
        /// `/healthz` fails when the poll loop has not turned for this long.
        package var livenessTimeout: Duration
    }

    /// `receipts:`
    package struct ReceiptsSection: Sendable {
        /// Kafka topic for receipts (`nil`: none).
        package var topic: String?
        /// Also write each receipt as a log line.
        package var log: Bool
    }

    /// `logging:`
    package struct LoggingSection: Sendable {
        package var level: Logger.Level
        package var format: LogFormat
    }

    /// `encryption:`
    package struct EncryptionSection: Sendable {
        /// Decrypts encrypted events (`keyring`, `keyring_file` or `keyring_env`); `nil`: none configured.
        package var keyring: Keyring?
        /// The longest time an event can stay in the topics (the dead-letter topic's retention):
        /// a key older than this is reported by `keys check` and at start-up.
        package var longestRetention: Duration = .seconds(30 * 86_400)
        /// `required`: plain events are refused as `not_encrypted` (needs a keyring).
        package var required = false

        package init() {}
    }

    package var kafka: KafkaSection
    package var processing: ProcessingSection
    package var http: HTTPSection
    package var receipts: ReceiptsSection
    package var logging: LoggingSection
    /// `encryption:` (docs/encryption.md).
    package var encryption: EncryptionSection = EncryptionSection()
    /// The destinations, read and validated; ``buildDestinations(context:)`` builds them.
    package var destinations: [DestinationBlueprint]

    /// Validates a resolved configuration; throws ``ConfigLoader/Failure`` with every problem
    /// found (indirection problems included), one message each, naming the key.
    /// - Parameter requireDestinations: `false` for subcommands that never call a destination
    ///   (`status`, `dlq list`): `destinations` is then neither read nor required.
    package static func parse(_ document: ConfigDocument, requireDestinations: Bool = true) throws -> ServiceConfiguration {
        let problems = ConfigProblems(document.problems.messages)
        let reader = SettingsReader(path: "", values: document.values, problems: problems)
        let config = read(reader, requireDestinations: requireDestinations)
        reader.finish()
        guard problems.isEmpty else { throw ConfigLoader.Failure(problems: problems.messages) }
        return config
    }

    /// Loads, resolves and validates a config file.
    package static func load(path: String, requireDestinations: Bool = true) throws -> ServiceConfiguration {
        try parse(ConfigLoader.load(path: path, skipDestinations: !requireDestinations), requireDestinations: requireDestinations)
    }

    static func read(_ root: SettingsReader, requireDestinations: Bool) -> ServiceConfiguration {
        let problems = root.problems
        let kafkaReader = root.section("kafka")
        if kafkaReader == nil { problems.add("kafka", "required") }
        let k = kafkaReader ?? SettingsReader(path: "kafka", values: [:], problems: ConfigProblems())
        let baseTopic = k.string("topic", or: "user-retirement")
        let topic = k.string("topic_prefix").map { "\($0)-\(baseTopic)" } ?? baseTopic
        let kafka = KafkaSection(
            bootstrapServers: k.string("bootstrap_servers", required: true) ?? "",
            topic: topic,
            groupID: k.string("group_id", or: "retirement-consumer"),
            deadLetterTopic: k.string("dead_letter_topic", or: "\(topic).dlq"),
            assignmentStrategy: k.choice("assignment_strategy", default: AssignmentStrategy.range),
            properties: checkedProperties(k.stringMap("properties"), problems: problems),
            sessionTimeout: k.duration("session_timeout", default: .seconds(45), minimum: .seconds(3)),
            prefetchKBytes: k.int("prefetch_kbytes", default: 1024, range: 256...2_097_151))
        k.finish()

        let p = root.section("processing") ?? SettingsReader(path: "processing", values: [:], problems: problems)
        let maxInFlight = p.int("max_in_flight", default: 1000, range: 1...1_000_000)
        let maxBuffered = p.int("max_buffered", default: 4 * maxInFlight, range: 1...10_000_000)
        let maxBufferedPerPartition = p.int("max_buffered_per_partition", default: maxBuffered, range: 1...10_000_000)
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
            maxBufferedPerPartition: maxBufferedPerPartition,
            maxBuffered: maxBuffered,
            retry: retry,
            shutdownGrace: p.duration("shutdown_grace", default: .seconds(20)),
            revokeGrace: p.duration("revoke_grace", default: .seconds(5)),
            configurationErrorRetryInterval: p.duration("configuration_error_retry_interval", default: .seconds(30), minimum: .milliseconds(10)),
            maxEventBytes: p.int("max_event_bytes", default: 64 * 1024, range: 256...100_000_000),
            callTimeout: p.duration("call_timeout", default: .seconds(30), minimum: .milliseconds(10)),
            maxUncommittedPerPartition: p.int(
                "max_uncommitted_per_partition", default: max(10_000, maxBufferedPerPartition), range: 1...100_000_000),
            stuckEventWarning: p.duration("stuck_event_warning", default: .seconds(300), minimum: .seconds(1)),
            commitTimeout: p.duration("commit_timeout", default: .seconds(5), minimum: .milliseconds(100)),
            receiptQueueSize: p.int("receipt_queue_size", default: 10_000, range: 1...10_000_000))
        p.finish()
        if processing.maxUncommittedPerPartition < processing.maxBufferedPerPartition {
            problems.add(
                "processing.max_uncommitted_per_partition",
                "must be at least max_buffered_per_partition (\(processing.maxBufferedPerPartition))")
        }

        let h = root.section("http") ?? SettingsReader(path: "http", values: [:], problems: problems)
        let listen = h.string("listen", or: "127.0.0.1:9464")
        let enabled = h.bool("enabled", default: true)
        let livenessTimeout = h.duration("liveness_timeout", default: .seconds(60), minimum: .seconds(1))
        // The poll thread is inside a revoke for at most revoke_grace + commit_timeout; liveness
        // must not call that stuck.
        let revokeBlock = processing.revokeGrace + processing.commitTimeout
        if livenessTimeout <= revokeBlock + .seconds(5) {
            problems.add(
                "http.liveness_timeout",
                "must be longer than processing.revoke_grace + processing.commit_timeout + 5s (\(revokeBlock + .seconds(5))): a revoke blocks the poll loop that long"
            )
        }
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
        let logging = LoggingSection(level: l.choice("level", default: Logger.Level.info), format: l.choice("format", default: LogFormat.json))
        l.finish()

        let encryption = readEncryption(root.section("encryption"), problems: problems)

        var destinations: [DestinationBlueprint] = []
        if requireDestinations {
            let readers = root.sections("destinations")
            if readers.isEmpty, !problems.messages.contains(where: { $0.hasPrefix("destinations") }) {
                problems.add("destinations", "at least one destination is required")
            }
            destinations = DestinationRegistry.read(
                readers, defaults: DestinationDefaults(callTimeout: processing.callTimeout, maxVendorWait: processing.retry.maxRetryAfter))
        } else {
            root.allow("destinations")
        }
        return ServiceConfiguration(
            kafka: kafka, processing: processing,
            http: HTTPSection(host: host, port: port, enabled: enabled, livenessTimeout: livenessTimeout),
            receipts: receipts, logging: logging, encryption: encryption, destinations: destinations)
    }

    static func readEncryption(_ reader: SettingsReader?, problems: ConfigProblems) -> EncryptionSection {
        var section = EncryptionSection()
        guard let reader else { return section }
        if let text = reader.string("keyring"), text != ConfigValue.unresolvedText {
            do {
                section.keyring = try Keyring.parse(text)
            } catch {
                problems.add("encryption.keyring", error.description)
            }
        }
        section.longestRetention = reader.duration("longest_retention", default: .seconds(30 * 86_400), minimum: .seconds(3600))
        section.required = reader.bool("required", default: false)
        if section.required, !reader.has("keyring") {
            problems.add(
                "encryption.required",
                "needs a keyring (encryption.keyring, keyring_file or keyring_env): without one every event would be refused")
        }
        reader.finish()
        return section
    }

    /// librdkafka properties that would change who commits what, refused in `kafka.properties`:
    /// each with the reason given to the operator.
    static let refusedProperties: [String: String] = [
        "group.id":
            "would replace the service's consumer group, and the groups replay and dlq redrive derive from it; set kafka.group_id",
        "enable.auto.offset.store":
            "offsets are stored only after an event is erased or dead-lettered; storing them on consumption could commit past unfinished erasures",
        "enable.auto.commit": "the service commits the offsets it stored itself; turning commits off would redo work, changing it is not supported",
        "auto.commit.enable": "an alias of enable.auto.commit, which the service manages",
        "partition.assignment.strategy": "set kafka.assignment_strategy",
    ]

    /// `kafka.properties` without the refused keys; every refused key and every property
    /// librdkafka does not accept is a problem naming the key.
    static func checkedProperties(_ properties: [String: String], problems: ConfigProblems) -> [String: String] {
        let kept = refusingGroupProperties(properties, problems: problems)
        for (key, reason) in KafkaProperties(kept).refused() {
            problems.add("kafka.properties.\(key)", reason)
        }
        return kept
    }

    static func refusingGroupProperties(_ properties: [String: String], problems: ConfigProblems) -> [String: String] {
        var kept = properties
        for key in properties.keys.sorted() {
            guard let why = refusedProperties[key] else { continue }
            problems.add("kafka.properties.\(key)", "not allowed: \(why)")
            kept.removeValue(forKey: key)
        }
        return kept
    }

    /// Builds the destinations read at validation, each once.
    package func buildDestinations(context: DestinationContext) -> [DestinationPipeline] {
        destinations.map { $0.build(context) }
    }

    /// librdkafka consumer properties: the service's defaults, then `kafka.properties`. With a
    /// `groupID` (replay, dlq redrive, benchmarks) the consumer is a tool, never a member of the
    /// service's group: no static membership (`group.instance.id`) and no automatic commits.
    package func consumerProperties(groupID: String? = nil) -> [String: String] {
        var values: [String: String] = [
            "bootstrap.servers": kafka.bootstrapServers,
            "group.id": groupID ?? kafka.groupID,
            "client.id": "retirement-consumer",
            "enable.auto.offset.store": "false",
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": "200",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": "false",
            "partition.assignment.strategy": kafka.assignmentStrategy.rawValue,
            "session.timeout.ms": String(Int64(kafka.sessionTimeout.seconds * 1000)),
            "statistics.interval.ms": "5000",
            // The prefetch budget: what librdkafka holds read ahead, and the largest fetch
            // response (docs/performance.md#memory has what each costs).
            // librdkafka 2.0.2 stalls a fetcher whose queue was full until its broker thread wakes;
            // KafkaConsumer wakes it (FetchWaker), so a small queue costs no throughput.
            "queued.max.messages.kbytes": String(kafka.prefetchKBytes),
            "fetch.max.bytes": String(max(1_000_000, kafka.prefetchKBytes * 1024)),
            "receive.message.max.bytes": String(max(100_000_000, kafka.prefetchKBytes * 1024 + 512)),
            // librdkafka's default: the queue is bounded by queued.max.messages.kbytes.
            "queued.min.messages": "100000",
            "fetch.wait.max.ms": "100",
            "log_level": "4",
        ]
        values.merge(kafka.properties) { _, new in new }
        // The at-least-once pattern needs these; they are not negotiable.
        values["enable.auto.offset.store"] = "false"
        values["group.id"] = groupID ?? kafka.groupID
        if groupID != nil {
            values.removeValue(forKey: "group.instance.id")
            values["enable.auto.commit"] = "false"
        }
        return values
    }

    /// librdkafka producer properties for the dead-letter and receipt topics.
    package func producerProperties() -> [String: String] {
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
