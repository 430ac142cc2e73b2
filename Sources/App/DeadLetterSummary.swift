import Kafka
import Logging

/// `dlq list`: dead-lettered events counted by reason and destination, without personal data.
public enum DeadLetterSummary {
    /// The stable part of `x-retirement-error`: the bad-input code (`invalid_json`, `missing_field:email`, …),
    /// or `destination` for events dead-lettered because destinations still owe them.
    public static func reasonCode(_ error: String) -> String {
        let head = error.split(separator: " ", maxSplits: 1).first.map(String.init) ?? error
        let code = head.hasSuffix(":") ? String(head.dropLast()) : head
        let knownPrefixes = [
            "empty_value", "not_utf8", "invalid_json", "not_an_object", "missing_field", "wrong_type", "invalid_value",
            "missing_header", "unsupported_type", "key_mismatch", "too_large", "key_unavailable", "decryption_failed",
        ]
        return knownPrefixes.contains(where: { code.hasPrefix($0) }) ? code : "destination_failed"
    }

    public struct Row: Sendable, Equatable {
        public var reason: String
        public var destination: String
        public var count: Int
    }

    /// Counts the whole dead-letter topic (low to high watermark at call time).
    public static func count(_ configuration: ServiceConfiguration, logger: Logger) throws -> [Row] {
        let reader = try TopicReader(
            bootstrapServers: configuration.kafka.bootstrapServers, topic: configuration.kafka.deadLetterTopic,
            properties: configuration.kafka.properties, groupID: "\(configuration.kafka.groupID).dlq-list", logger: logger)
        let marks = try reader.watermarks()
        var counts: [String: [String: Int]] = [:]
        try reader.read(ranges: marks.mapValues { ($0.low, $0.high) }) { message in
            let reason = message.header("x-retirement-error").map(reasonCode) ?? "unknown"
            let owed = (message.header("x-retirement-destinations") ?? "").split(separator: ",").map(String.init)
            for destination in owed.isEmpty ? ["-"] : owed {
                counts[reason, default: [:]][destination, default: 0] += 1
            }
        }
        return counts.flatMap { reason, byDestination in
            byDestination.map { Row(reason: reason, destination: $0.key, count: $0.value) }
        }.sorted { ($0.reason, $0.destination) < ($1.reason, $1.destination) }
    }
}
