import Engine
import Logging
import ServiceRuntime

/// `dlq list`: dead-lettered events counted by reason and destination, without personal data.
package enum DeadLetterSummary {
    package struct Row: Sendable, Equatable {
        package var reason: String
        package var destination: String
        package var count: Int
    }

    /// What `dlq list` shows: what is still owed beyond the redrive group's position, and how
    /// many records lie behind that position (already redriven or written again further on).
    package struct Report: Sendable, Equatable {
        package var rows: [Row]
        /// Records from the low watermark up to the redrive group's position, per topic.
        package var behindRedrivePosition: Int
        /// Records beyond the position (the rows count these).
        package var beyondRedrivePosition: Int
    }

    /// Counts the dead-letter records beyond `<group_id>.dlq-redrive`'s committed position (all of
    /// them when the group never committed), by reason and owed destination.
    package static func count(_ configuration: ServiceConfiguration, logger: Logger) throws -> Report {
        let reader = try TopicReader(
            bootstrapServers: configuration.kafka.bootstrapServers, topic: configuration.kafka.deadLetterTopic,
            properties: configuration.kafka.properties, groupID: "\(configuration.kafka.groupID).dlq-redrive", logger: logger)
        let marks = try reader.watermarks()
        let ranges = try DeadLetterRedrive.ranges(reader)
        let behind = marks.reduce(0) { total, item in
            total + Int((ranges[item.key]?.start ?? item.value.low) - max(item.value.low, 0))
        }
        var counts: [String: [String: Int]] = [:]
        var beyond = 0
        try reader.read(ranges: ranges) { message in
            beyond += 1
            let reason = message.header(DeadLetterContract.Header.error).map(DeadLetterContract.reasonLabel) ?? "unknown"
            let owed = DeadLetterContract.owedNames(message.header(DeadLetterContract.Header.destinations))
            for destination in owed.isEmpty ? ["-"] : owed {
                counts[reason, default: [:]][destination, default: 0] += 1
            }
        }
        let rows = counts.flatMap { reason, byDestination in
            byDestination.map { Row(reason: reason, destination: $0.key, count: $0.value) }
        }.sorted { ($0.reason, $0.destination) < ($1.reason, $1.destination) }
        return Report(rows: rows, behindRedrivePosition: behind, beyondRedrivePosition: beyond)
    }
}
