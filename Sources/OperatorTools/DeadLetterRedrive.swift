import Destinations
import Engine
import Foundation
import Kafka
import Logging
import ServiceRuntime

/// `dlq redrive`: re-applies dead-lettered events to the destinations they still owe, under the
/// consumer group `<group_id>.dlq-redrive`.
///
/// A record is committed past only once it is settled for every destination it owed: erased
/// now, or written to the dead-letter topic again (acknowledged) naming exactly what it still owes
/// — the destinations that failed again, those not configured any more, those not selected with
/// `--destination` — with its original key, value and headers.
package enum DeadLetterRedrive {
    package struct Summary: Sendable, Equatable {
        /// Records read from the dead-letter topic.
        package var read = 0
        /// Records whose owed destinations were all erased now.
        package var redriven = 0
        /// Records written to the dead-letter topic again because something is still owed.
        package var deadLetteredAgain = 0
        /// Bad input: nothing owed, nothing to redrive (it stays in the topic for `dlq list`).
        package var skippedBadInput = 0
        /// Per destination: records that owe it (what a dry run would redrive, or what this run tried).
        package var owedByDestination: [String: Int] = [:]
        /// Per destination: records that still owe it after this run although it was to be
        /// redriven (failed again, not configured, or the original could not be decoded).
        package var unsettledByDestination: [String: Int] = [:]
        /// Per destination: records that owe it and were carried forward untried because it was
        /// not selected with `--destination`.
        package var carriedForwardByDestination: [String: Int] = [:]
        /// Records dead-lettered as `key_unavailable` that the current keyring still cannot decrypt
        /// (left in the topic; with the key deployed, a redrive applies them to every destination).
        package var keyUnavailable = 0

        /// Whether everything this run was asked to settle is settled (the exit status is 0).
        package var settledEverything: Bool { unsettledByDestination.isEmpty && keyUnavailable == 0 }
    }

    /// Rebuilds the original record from a dead-letter record: original headers, topic, partition,
    /// offset and timestamp (a record written before `x-original-timestamp` existed: its own).
    static func originalRecord(_ message: KafkaMessage) -> InboundRecord {
        let topic = message.header(DeadLetterContract.Header.originalTopic) ?? message.topicPartition.topic
        let partition = message.header(DeadLetterContract.Header.originalPartition).flatMap(Int32.init) ?? message.topicPartition.partition
        let offset = message.header(DeadLetterContract.Header.originalOffset).flatMap(Int64.init) ?? message.offset
        return InboundRecord(
            partition: PartitionID(topic: topic, partition: partition), offset: offset, key: message.key, value: message.value,
            headers: message.headers?.all.filter { !DeadLetterContract.Header.describingTheDeadLettering.contains($0.name) }.map {
                RecordHeader(name: $0.name, value: $0.value)
            },
            timestamp: message.header(DeadLetterContract.Header.originalTimestamp).flatMap(Int64.init) ?? message.timestamp)
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
    package static func run(
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
        // A `key_unavailable` record owes every configured destination: it was never applied.
        let configuredNames = configuration.destinations.map(\.name)
        let state = RedriveState()

        if dryRun {
            try reader.read(ranges: ranges) { message in
                state.update { summary in
                    summary.read += 1
                    var owed = owedDestinations(message)
                    if owed.isEmpty, isKeyUnavailable(message) { owed = configuredNames }
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
            await redrive(
                message, only: only, byName: byName, configuredNames: configuredNames, processor: processor, state: state,
                logger: logger)
        }
        return state.summary
    }

    /// Settles one dead-letter record; `true` when it may be committed past.
    ///
    /// A `key_unavailable` record was never applied anywhere: it owes every configured
    /// destination, and is tried again with the current keyring. Still undecryptable, it is
    /// written again as it was (and counted), so a later redrive with the key deployed finds it.
    static func redrive(
        _ message: KafkaMessage, only: Set<String>, byName: [String: DestinationPipeline], configuredNames: [String],
        processor: EventProcessor, state: RedriveState, logger: Logger
    ) async -> Bool {
        state.update { $0.read += 1 }
        var allOwed = owedDestinations(message)
        let retryingKey = allOwed.isEmpty && isKeyUnavailable(message)
        if retryingKey { allOwed = configuredNames }
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
        case .failure(let bad) where retryingKey:
            // Still no key: written again as it was, for a later redrive. Any other reason now
            // (a wrong secret under the same id, invalid decrypted fields) is bad input for good:
            // written again with that reason, owing nothing, as the service would have.
            let stillNoKey = bad.code == "key_unavailable"
            logger.warning(
                "dead-lettered event still cannot be decoded; kept dead-lettered",
                metadata: ["partition": "\(original.partition)", "offset": "\(original.offset)", "reason": "\(bad.code)"])
            guard await writeAgain(processor, original, reason: bad.description, owed: []) else { return false }
            processor.metrics.deadLettered(reasonCode: bad.code)
            state.update { summary in
                summary.deadLetteredAgain += 1
                if stillNoKey { summary.keyUnavailable += 1 } else { summary.skippedBadInput += 1 }
            }
            return true
        case .failure(let bad):
            // Owed, but the original cannot be applied from here (its value was omitted, or it no
            // longer decodes, e.g. its key was removed): keep it dead-lettered for every
            // destination it owes.
            let why =
                message.header(DeadLetterContract.Header.valueOmitted) != nil
                ? "original value omitted; read it from \(original.partition) offset \(original.offset) while retained"
                : "original not decodable (\(bad.code))"
            logger.error(
                "dead-letter record owes destinations but cannot be applied; kept dead-lettered",
                metadata: ["partition": "\(original.partition)", "offset": "\(original.offset)", "reason": "\(why)"])
            let owed = allOwed.map { OwedDestination(name: $0, reason: why, attempts: 0) }
            guard await writeAgain(processor, original, reason: owed.map { "\($0.name): \($0.reason)" }.joined(separator: "; "), owed: owed.map(\.name))
            else { return false }
            for _ in allOwed { processor.metrics.deadLettered(reasonCode: DeadLetterContract.destinationFailed) }
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

    /// Dead-lettered because its key was not in the keyring (docs/encryption.md).
    static func isKeyUnavailable(_ message: KafkaMessage) -> Bool {
        DeadLetterContract.reasonLabel(ofError: message.header(DeadLetterContract.Header.error) ?? "") == "key_unavailable"
    }

    /// Writes a record to the dead-letter topic as it is, with `reason` and the `owed` names;
    /// retried until acknowledged, `false` only when cancelled first.
    static func writeAgain(_ processor: EventProcessor, _ record: InboundRecord, reason: String, owed: [String]) async -> Bool {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                try await processor.deadLetters.deadLetter(record, reason: reason, owedDestinations: owed, attempts: 0)
                return true
            } catch {
                try? await Task.sleep(for: .milliseconds(min(200 * attempt, 5000)))
            }
        }
        return false
    }
}
