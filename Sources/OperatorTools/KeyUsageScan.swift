import Logging
import RetirementEvent
import ServiceRuntime

/// Which keyring keys the records still waiting in the topics are sealed under: every record of
/// the dead-letter topic, and the records of the retirement topic beyond the service group's
/// committed offsets. A key that still seals such a record must not be removed: removing it
/// would shred an erasure that is still owed (docs/encryption.md#rotation-and-shredding).
package enum KeyUsageScan {
    /// Key id → topic → records sealed under it.
    package typealias Usage = [String: [String: Int]]

    /// What `keys check` knows about the topics.
    package enum Evidence: Sendable, Equatable {
        /// Not asked (`keys check --keyring FILE`).
        case notChecked
        /// Asked, but the topics could not be read: no key is confirmed removable.
        case unreadable(String)
        case read(Usage)
    }

    /// Reads both topics; throws when Kafka cannot be reached or a read stalls.
    package static func scan(_ configuration: ServiceConfiguration, logger: Logger) throws -> Usage {
        var usage: Usage = [:]
        let kafka = configuration.kafka
        let targets = [(kafka.deadLetterTopic, false), (kafka.topic, true)]
        for (topic, afterCommitted) in targets {
            // The service's group id: its committed offsets are read, never written (no commits
            // and no group membership: the reader assigns partitions by hand).
            let reader = try TopicReader(
                bootstrapServers: kafka.bootstrapServers, topic: topic, properties: kafka.properties, groupID: kafka.groupID,
                logger: logger)
            let marks = try reader.watermarks()
            let committed = afterCommitted ? try reader.committed(Array(marks.keys)) : [:]
            let ranges = marks.reduce(into: [Int32: (start: Int64, end: Int64)]()) { result, item in
                let low = max(item.value.low, 0)
                result[item.key] = (max(committed[item.key] ?? low, low), item.value.high)
            }
            try reader.read(ranges: ranges, stallTimeout: .seconds(30)) { message in
                if let kid = message.value.flatMap(FieldEnvelope.keyID(ofValue:)) { usage[kid, default: [:]][topic, default: 0] += 1 }
            }
        }
        return usage
    }
}
