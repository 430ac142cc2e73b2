import ConfigFile
import Destinations

/// The whole service configuration (docs/contract.md#config), validated. Each section is a type
/// of its own in `Configuration/`, reading its keys with their defaults and ranges; the rules
/// between keys are in ``validate(_:)``.
package struct ServiceConfiguration: Sendable {
    package var kafka: KafkaSection
    package var processing: ProcessingSection
    package var http: HTTPSection
    package var receipts: ReceiptsSection
    package var logging: LoggingSection
    /// `encryption:` (docs/encryption.md).
    package var encryption: EncryptionSection
    /// The destinations, read and validated; ``buildDestinations(context:)`` builds them.
    package var destinations: [DestinationBlueprint]

    /// Validates a resolved configuration; throws ``ConfigLoader/Failure`` with every problem
    /// found (indirection problems included), one message each, naming the key.
    /// - Parameter requireDestinations: `false` for subcommands that never call a destination
    ///   (`status`, `dlq list`): `destinations` is then neither read nor required.
    package static func parse(_ document: ConfigDocument, requireDestinations: Bool = true) throws -> ServiceConfiguration {
        let problems = ConfigProblems(document.problems.messages)
        let reader = SettingsReader(path: "", values: document.values, problems: problems)
        let config = ServiceConfiguration(reader: reader, requireDestinations: requireDestinations)
        reader.finish()
        guard problems.isEmpty else { throw ConfigLoader.Failure(problems: problems.messages) }
        return config
    }

    /// Loads, resolves and validates a config file.
    package static func load(path: String, requireDestinations: Bool = true) throws -> ServiceConfiguration {
        try parse(ConfigLoader.load(path: path, skipDestinations: !requireDestinations), requireDestinations: requireDestinations)
    }

    /// Reads every section (an absent optional section reads as every default), then ``validate(_:)``.
    init(reader root: SettingsReader, requireDestinations: Bool) {
        let problems = root.problems
        if let kafkaReader = root.section("kafka") {
            kafka = KafkaSection(reader: kafkaReader)
        } else {
            problems.add("kafka", "required")
            kafka = KafkaSection(reader: SettingsReader(path: "kafka", values: [:], problems: ConfigProblems()))
        }
        processing = ProcessingSection(reader: root.sectionOrEmpty("processing"))
        http = HTTPSection(reader: root.sectionOrEmpty("http"))
        receipts = ReceiptsSection(reader: root.sectionOrEmpty("receipts"))
        logging = LoggingSection(reader: root.sectionOrEmpty("logging"))
        encryption = EncryptionSection(reader: root.section("encryption"))
        destinations = []
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
        validate(problems)
    }

    /// The rules between keys, each a problem naming the key it blames.
    func validate(_ problems: ConfigProblems) {
        if processing.retry.maxBackoff < processing.retry.initialBackoff {
            problems.add("processing.retry.max_backoff", "must not be shorter than initial_backoff")
        }
        if processing.maxUncommittedPerPartition < processing.maxBufferedPerPartition {
            problems.add(
                "processing.max_uncommitted_per_partition",
                "must be at least max_buffered_per_partition (\(processing.maxBufferedPerPartition))")
        }
        // The poll thread is inside a revoke for at most revoke_grace + commit_timeout; liveness
        // must not call that stuck.
        let revokeBlock = processing.revokeGrace + processing.commitTimeout
        if http.livenessTimeout <= revokeBlock + .seconds(5) {
            problems.add(
                "http.liveness_timeout",
                "must be longer than processing.revoke_grace + processing.commit_timeout + 5s (\(revokeBlock + .seconds(5))): a revoke blocks the poll loop that long"
            )
        }
        if encryption.required, !encryption.keyringGiven {
            problems.add(
                "encryption.required",
                "needs a keyring (encryption.keyring, keyring_file or keyring_env): without one every event would be refused")
        }
    }

    /// Builds the destinations read at validation, each once.
    package func buildDestinations(context: DestinationContext) -> [DestinationPipeline] {
        destinations.map { $0.build(context) }
    }

    /// librdkafka properties of the service's consumer, or with a `groupID` of a tool's
    /// (``KafkaClientProperties/consumer(_:groupID:)``).
    package func consumerProperties(groupID: String? = nil) -> [String: String] {
        KafkaClientProperties.consumer(kafka, groupID: groupID)
    }

    /// librdkafka producer properties for the dead-letter and receipt topics
    /// (``KafkaClientProperties/producer(_:)``).
    package func producerProperties() -> [String: String] {
        KafkaClientProperties.producer(kafka)
    }
}
