import Destinations
import Engine
import Foundation
import Kafka
import Logging
import RetirementEvent

/// `dlq redrive`: re-applies dead-lettered events to the destinations they still owe, under the
/// consumer group `<group_id>.dlq-redrive`, committing past a record only once it was settled
/// (erased, or dead-lettered again for what is still owed, acknowledged).
public enum DeadLetterRedrive {
    public struct Summary: Sendable, Equatable {
        /// Records read from the dead-letter topic.
        public var read = 0
        /// Records whose owed destinations were all erased now.
        public var redriven = 0
        /// Records dead-lettered again (some destination still owes them).
        public var deadLetteredAgain = 0
        /// Bad input: nothing to redrive (it stays in the topic for `dlq list`).
        public var skippedBadInput = 0
        /// Records that owe none of the destinations named with `--destination`.
        public var skippedOtherDestinations = 0
        /// Per destination: how many records owe it (what a dry run would redrive).
        public var owedByDestination: [String: Int] = [:]
        /// Records dead-lettered as `key_unavailable` that the current keyring still cannot decrypt
        /// (left in the topic; with the key deployed, a redrive applies them to every destination).
        public var keyUnavailable = 0
    }

    /// Headers this service adds when dead-lettering; stripped before a record is applied again.
    static let serviceHeaders: Set<String> = [
        "x-retirement-error", "x-retirement-destinations", "x-original-topic", "x-original-partition", "x-original-offset",
        "x-attempts", "x-retirement-value-omitted",
    ]

    /// Rebuilds the original record from a dead-letter record: original headers, topic, partition and offset.
    static func originalRecord(_ message: KafkaMessage) -> InboundRecord {
        let topic = message.header("x-original-topic") ?? message.topicPartition.topic
        let partition = message.header("x-original-partition").flatMap(Int32.init) ?? message.topicPartition.partition
        let offset = message.header("x-original-offset").flatMap(Int64.init) ?? message.offset
        return InboundRecord(
            partition: PartitionID(topic: topic, partition: partition), offset: offset, key: message.key, value: message.value,
            headers: message.headers?.filter { !serviceHeaders.contains($0.name) }.map { RecordHeader(name: $0.name, value: $0.value) },
            timestamp: message.timestamp)
    }

    /// - Parameters:
    ///   - only: destination names given with `--destination` (empty: every destination owed).
    ///   - dryRun: count only; nothing is applied or committed.
    public static func run(
        _ configuration: ServiceConfiguration, only: Set<String>, dryRun: Bool, destinations: [DestinationPipeline],
        processor: EventProcessor?, logger: Logger
    ) async throws -> Summary {
        let groupID = "\(configuration.kafka.groupID).dlq-redrive"
        let topic = configuration.kafka.deadLetterTopic
        let reader = try TopicReader(
            bootstrapServers: configuration.kafka.bootstrapServers, topic: topic, properties: configuration.kafka.properties,
            groupID: groupID, logger: logger)
        let marks = try reader.watermarks()
        let committed = try reader.committed(Array(marks.keys))
        let ranges = marks.mapValues { mark in (start: max(mark.low, 0), end: mark.high) }
            .reduce(into: [Int32: (start: Int64, end: Int64)]()) { result, item in
                let start = max(committed[item.key] ?? item.value.start, item.value.start)
                result[item.key] = (start, item.value.end)
            }
        let byName = Dictionary(uniqueKeysWithValues: destinations.map { ($0.name, $0) })
        // A `key_unavailable` record owes every configured destination: it was never applied.
        let configuredNames = configuration.destinations.compactMap { map -> String? in
            if case .string(let name)? = map["name"] { return name }
            return nil
        }
        let state = RedriveState()

        if dryRun {
            try reader.read(ranges: ranges) { message in
                state.update { summary in
                    summary.read += 1
                    let owed = owedDestinations(message, only: only, keyUnavailableOwes: configuredNames)
                    if owed.isEmpty { summary.skippedBadInput += (message.header("x-retirement-destinations") ?? "").isEmpty ? 1 : 0 }
                    for name in owed { summary.owedByDestination[name, default: 0] += 1 }
                }
            }
            return state.summary
        }

        guard let processor else { return state.summary }
        var properties = configuration.consumerProperties(groupID: groupID)
        properties["enable.auto.commit"] = "false"
        let consumer = try KafkaConsumer(properties: KafkaProperties(properties), logger: logger)
        let runner = FiniteConsumption(consumer: consumer, topic: topic, maxInFlight: configuration.processing.maxInFlight, logger: logger)
        _ = try await runner.run(ranges: ranges) { message in
            state.update { $0.read += 1 }
            var allOwed = (message.header("x-retirement-destinations") ?? "").split(separator: ",").map(String.init)
            let retryingKey = allOwed.isEmpty && isKeyUnavailable(message)
            if retryingKey { allOwed = configuredNames }
            if allOwed.isEmpty {
                state.update { $0.skippedBadInput += 1 }
                return true
            }
            let owed = owedDestinations(message, only: only, keyUnavailableOwes: configuredNames)
            if owed.isEmpty {
                state.update { $0.skippedOtherDestinations += 1 }
                return true
            }
            let original = originalRecord(message)
            let event: RetirementEvent
            switch processor.decoder.decode(key: original.key, value: original.value, header: { original.header($0) }) {
            case .success(let decoded):
                event = decoded
            case .failure(let bad):
                if retryingKey {
                    state.update { $0.keyUnavailable += 1 }
                    return true
                }
                // It decoded when it was dead-lettered: this keyring lacks its key (removed: shredded).
                logger.warning(
                    "cannot decode a dead-lettered event; dead-lettering it as bad input",
                    metadata: ["partition": "\(original.partition)", "offset": "\(original.offset)", "reason": "\(bad.code)"])
                guard await deadLetterBadInput(processor, original, bad) else { return false }
                state.update { $0.deadLetteredAgain += 1 }
                return true
            }
            for name in owed { state.update { $0.owedByDestination[name, default: 0] += 1 } }
            // Destinations owed but not selected (or no longer configured) stay owed.
            let targets = owed.compactMap { byName[$0] }
            let stillOwed = allOwed.filter { !targets.map(\.name).contains($0) }
            let result = await processor.apply(event, record: original, to: targets)
            switch result {
            case .abandoned:
                return false
            case .deadLettered:
                state.update { $0.deadLetteredAgain += 1 }
                if !stillOwed.isEmpty { return await deadLetterAgain(processor, original, stillOwed) }
                return true
            case .erased:
                if stillOwed.isEmpty {
                    state.update { $0.redriven += 1 }
                    return true
                }
                state.update { $0.deadLetteredAgain += 1 }
                return await deadLetterAgain(processor, original, stillOwed)
            }
        }
        return state.summary
    }

    /// The destinations a record owes, limited to `only` when given. A `key_unavailable` record
    /// owes `keyUnavailableOwes` (every configured destination).
    static func owedDestinations(_ message: KafkaMessage, only: Set<String>, keyUnavailableOwes: [String] = []) -> [String] {
        var owed = (message.header("x-retirement-destinations") ?? "").split(separator: ",").map(String.init)
        if owed.isEmpty, isKeyUnavailable(message) { owed = keyUnavailableOwes }
        return only.isEmpty ? owed : owed.filter { only.contains($0) }
    }

    /// Dead-lettered because its key was not in the keyring (docs/encryption.md).
    static func isKeyUnavailable(_ message: KafkaMessage) -> Bool {
        DeadLetterSummary.reasonCode(message.header("x-retirement-error") ?? "") == "key_unavailable"
    }

    /// Dead-letters a record that cannot be decoded (as bad input: it owes no destination), with
    /// its reason; acknowledged before it returns `true`.
    static func deadLetterBadInput(_ processor: EventProcessor, _ record: InboundRecord, _ bad: BadInput) async -> Bool {
        for attempt in 1...20 {
            do {
                try await processor.deadLetters.deadLetter(record, reason: bad.description, owedDestinations: [], attempts: 0)
                processor.metrics.deadLettered(reasonCode: bad.code)
                return true
            } catch {
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }

    /// Writes the record back for destinations this redrive did not handle; acknowledged before it returns `true`.
    static func deadLetterAgain(_ processor: EventProcessor, _ record: InboundRecord, _ owed: [String]) async -> Bool {
        for attempt in 1...20 {
            do {
                try await processor.deadLetters.deadLetter(
                    record, reason: "still owed after redrive", owedDestinations: owed.sorted(), attempts: 0)
                return true
            } catch {
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }
}

/// The redrive's running counts, shared by concurrent work.
final class RedriveState: @unchecked Sendable {
    private let lock = NSLock()
    private var value = DeadLetterRedrive.Summary()

    func update(_ body: (inout DeadLetterRedrive.Summary) -> Void) {
        lock.lock()
        body(&value)
        lock.unlock()
    }

    var summary: DeadLetterRedrive.Summary {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
