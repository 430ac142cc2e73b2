import Destinations
import Engine
import Foundation
import Kafka
import Logging
import RetirementEvent

/// `dlq redrive`: re-applies dead-lettered events to the destinations they still owe, under the
/// consumer group `<group_id>.dlq-redrive`.
///
/// A record is committed past only once it is settled for every destination it owed: erased
/// now, or written to the dead-letter topic again (acknowledged) naming exactly what it still owes
/// — the destinations that failed again, those not configured any more, those not selected with
/// `--destination` — with its original key, value and headers.
public enum DeadLetterRedrive {
    public struct Summary: Sendable, Equatable {
        /// Records read from the dead-letter topic.
        public var read = 0
        /// Records whose owed destinations were all erased now.
        public var redriven = 0
        /// Records written to the dead-letter topic again because something is still owed.
        public var deadLetteredAgain = 0
        /// Bad input: nothing owed, nothing to redrive (it stays in the topic for `dlq list`).
        public var skippedBadInput = 0
        /// Per destination: records that owe it (what a dry run would redrive, or what this run tried).
        public var owedByDestination: [String: Int] = [:]
        /// Per destination: records that still owe it after this run although it was to be
        /// redriven (failed again, not configured, or the original could not be decoded).
        public var unsettledByDestination: [String: Int] = [:]
        /// Per destination: records that owe it and were carried forward untried because it was
        /// not selected with `--destination`.
        public var carriedForwardByDestination: [String: Int] = [:]

        /// Whether everything this run was asked to settle is settled (the exit status is 0).
        public var settledEverything: Bool { unsettledByDestination.isEmpty }
    }

    /// Rebuilds the original record from a dead-letter record: original headers, topic, partition and offset.
    static func originalRecord(_ message: KafkaMessage) -> InboundRecord {
        let topic = message.header(DeadLetterContract.Header.originalTopic) ?? message.topicPartition.topic
        let partition = message.header(DeadLetterContract.Header.originalPartition).flatMap(Int32.init) ?? message.topicPartition.partition
        let offset = message.header(DeadLetterContract.Header.originalOffset).flatMap(Int64.init) ?? message.offset
        return InboundRecord(
            partition: PartitionID(topic: topic, partition: partition), offset: offset, key: message.key, value: message.value,
            headers: message.headers?.filter { !DeadLetterContract.Header.describingTheDeadLettering.contains($0.name) }.map { RecordHeader(name: $0.name, value: $0.value) },
            timestamp: message.timestamp)
    }

    /// The destinations a dead-letter record owes (`x-retirement-destinations`; empty for bad input).
    static func owedDestinations(_ message: KafkaMessage) -> [String] {
        DeadLetterContract.owedNames(message.header(DeadLetterContract.Header.destinations))
    }

    /// The offsets to read: from the redrive group's position (or the low watermark) to the high watermark.
    static func ranges(_ reader: TopicReader) throws -> [Int32: (start: Int64, end: Int64)] {
        let marks = try reader.watermarks()
        let committed = try reader.committed(Array(marks.keys))
        return marks.reduce(into: [:]) { result, item in
            let low = max(item.value.low, 0)
            result[item.key] = (max(committed[item.key] ?? low, low), item.value.high)
        }
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
        let ranges = try ranges(reader)
        let byName = Dictionary(uniqueKeysWithValues: destinations.map { ($0.name, $0) })
        let state = RedriveState()

        if dryRun {
            try reader.read(ranges: ranges) { message in
                state.update { summary in
                    summary.read += 1
                    let owed = owedDestinations(message)
                    if owed.isEmpty { summary.skippedBadInput += 1 }
                    for name in owed where only.isEmpty || only.contains(name) { summary.owedByDestination[name, default: 0] += 1 }
                }
            }
            return state.summary
        }

        guard let processor else { return state.summary }
        let properties = configuration.consumerProperties(groupID: groupID)
        let consumer = try KafkaConsumer(properties: KafkaProperties(properties), logger: logger)
        let runner = FiniteConsumption(consumer: consumer, topic: topic, maxInFlight: configuration.processing.maxInFlight, logger: logger)
        _ = try await runner.run(ranges: ranges) { message in
            await redrive(message, only: only, byName: byName, processor: processor, state: state, logger: logger)
        }
        return state.summary
    }

    /// Settles one dead-letter record; `true` when it may be committed past.
    static func redrive(
        _ message: KafkaMessage, only: Set<String>, byName: [String: DestinationPipeline], processor: EventProcessor,
        state: RedriveState, logger: Logger
    ) async -> Bool {
        state.update { $0.read += 1 }
        let allOwed = owedDestinations(message)
        if allOwed.isEmpty {
            state.update { $0.skippedBadInput += 1 }
            return true
        }
        let selected = allOwed.filter { only.isEmpty || only.contains($0) }
        let notSelected = allOwed.filter { !selected.contains($0) }
        let targets = selected.compactMap { byName[$0] }
        let notConfigured = selected.filter { byName[$0] == nil }
        state.update { summary in
            for name in selected { summary.owedByDestination[name, default: 0] += 1 }
        }
        let original = originalRecord(message)
        var owedNow = notSelected.map { OwedDestination(name: $0, reason: "still owed; not selected in a redrive", attempts: 0) }
        owedNow += notConfigured.map { OwedDestination(name: $0, reason: "still owed; destination not configured", attempts: 0) }
        var unsettled = notConfigured

        switch processor.decoder.decode(key: original.key, value: original.value, header: { original.header($0) }) {
        case .failure(let bad):
            // Owed, but the original cannot be applied from here (its value was omitted, or it no
            // longer decodes): keep it dead-lettered for every destination it owes.
            let why = message.header(DeadLetterContract.Header.valueOmitted) != nil
                ? "original value omitted; read it from \(original.partition) offset \(original.offset) while retained"
                : "original not decodable (\(bad.code))"
            logger.error(
                "dead-letter record owes destinations but cannot be applied; kept dead-lettered",
                metadata: ["partition": "\(original.partition)", "offset": "\(original.offset)", "reason": "\(why)"])
            let owed = allOwed.map { OwedDestination(name: $0, reason: why, attempts: 0) }
            guard await writeAgain(processor, original, owed: owed) else { return false }
            state.update { summary in
                summary.deadLetteredAgain += 1
                for name in selected { summary.unsettledByDestination[name, default: 0] += 1 }
                for name in notSelected { summary.carriedForwardByDestination[name, default: 0] += 1 }
            }
            return true
        case .success(let event):
            if !targets.isEmpty {
                guard let results = await processor.settle(event, at: targets) else { return false }
                let failed = results.compactMap(\.owed)
                owedNow += failed
                unsettled += failed.map(\.name)
            }
            if owedNow.isEmpty {
                state.update { $0.redriven += 1 }
                return true
            }
            guard await processor.deadLetter(event, record: original, owed: owedNow) else { return false }
            state.update { summary in
                summary.deadLetteredAgain += 1
                for name in unsettled { summary.unsettledByDestination[name, default: 0] += 1 }
                for name in notSelected { summary.carriedForwardByDestination[name, default: 0] += 1 }
            }
            return true
        }
    }

    /// Writes an undecodable record back as it is, naming what it owes; `false` when cancelled first.
    static func writeAgain(_ processor: EventProcessor, _ record: InboundRecord, owed: [OwedDestination]) async -> Bool {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                try await processor.deadLetters.deadLetter(
                    record, reason: owed.map { "\($0.name): \($0.reason)" }.joined(separator: "; "),
                    owedDestinations: owed.map(\.name).sorted(), attempts: 0)
                return true
            } catch {
                try? await Task.sleep(for: .milliseconds(min(200 * attempt, 5000)))
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
