import Engine
import Foundation
import Kafka
import Logging
import ServiceRuntime

/// `replay`: re-applies the events whose Kafka timestamps fall in `[from, to)` to the named
/// destinations, under its own consumer group (`<group_id>.replay`), leaving the service group's
/// offsets where they are.
package enum Replay {
    /// One partition's part of the window.
    package struct PartitionPlan: Sendable, Equatable {
        package var partition: Int32
        /// First offset to read.
        package var start: Int64
        /// One past the last offset to read (the high watermark when the replay started).
        package var end: Int64
        /// Records in `[start, end)` whose timestamp is in the window (filled by the scan).
        package var inWindow: Int
    }

    package struct Summary: Sendable {
        package var plans: [PartitionPlan]
        package var applied = 0
        package var deadLettered = 0
        package var skippedBadInput = 0
        package var abandoned = 0
    }

    /// Finds where the window starts in each partition. `offsets_for_times` is asked first and then
    /// checked against the records around its answer: where it cannot be trusted (as on a broker
    /// without a time index, such as librdkafka's mock) the scan starts at the low watermark.
    package static func plan(
        _ configuration: ServiceConfiguration, fromMs: Int64, toMs: Int64?, logger: Logger
    ) throws -> [PartitionPlan] {
        let reader = try TopicReader(
            bootstrapServers: configuration.kafka.bootstrapServers, topic: configuration.kafka.topic,
            properties: configuration.kafka.properties, groupID: "\(configuration.kafka.groupID).replay", logger: logger)
        let marks = try reader.watermarks()
        let lookups = try reader.consumer.offsetsForTimes(
            marks.keys.map { TopicPartitionOffset(TopicPartition(topic: configuration.kafka.topic, partition: $0), offset: fromMs) },
            timeoutMs: 10_000)
        var plans: [PartitionPlan] = []
        for (partition, mark) in marks.sorted(by: { $0.key < $1.key }) {
            guard mark.high > mark.low else {
                plans.append(PartitionPlan(partition: partition, start: mark.high, end: mark.high, inWindow: 0))
                continue
            }
            let answer = lookups.first { $0.topicPartition.partition == partition }?.offset ?? -1
            var start = (answer >= mark.low && answer <= mark.high) ? answer : mark.high
            if start > mark.low {
                // The record just before the answer must be older than the window, or the answer is wrong.
                var before: Int64?
                try reader.read(ranges: [partition: (start - 1, start)], stallTimeout: .seconds(15)) { before = $0.timestamp }
                if let before, before >= fromMs {
                    logger.info(
                        "offsets_for_times answer not trusted; scanning from the low watermark",
                        metadata: [
                            "partition": "\(partition)"
                        ])
                    start = mark.low
                }
            }
            plans.append(PartitionPlan(partition: partition, start: start, end: mark.high, inWindow: 0))
        }
        // Count what falls in the window.
        var counts: [Int32: Int] = [:]
        try reader.read(ranges: Dictionary(uniqueKeysWithValues: plans.map { ($0.partition, ($0.start, $0.end)) })) { message in
            if inWindow(message.timestamp, fromMs: fromMs, toMs: toMs) { counts[message.topicPartition.partition, default: 0] += 1 }
        }
        return plans.map {
            var plan = $0; plan.inWindow = counts[$0.partition] ?? 0; return plan
        }
    }

    static func inWindow(_ timestamp: Int64?, fromMs: Int64, toMs: Int64?) -> Bool {
        guard let timestamp else { return false }
        return timestamp >= fromMs && (toMs.map { timestamp < $0 } ?? true)
    }

    /// Applies the window to the destinations `resources` selected (nothing for a dry run's).
    package static func run(
        _ configuration: ServiceConfiguration, plans: [PartitionPlan], fromMs: Int64, toMs: Int64?, using resources: ErasureResources,
        logger: Logger
    ) async throws -> Summary {
        guard let processor = resources.processor else { return Summary(plans: plans) }
        let destinations = resources.selected
        var properties = configuration.consumerProperties(groupID: "\(configuration.kafka.groupID).replay")
        properties["enable.auto.commit"] = "false"
        let consumer = try KafkaConsumer(properties: KafkaProperties(properties), logger: logger)
        let counter = OutcomeCounter()
        let decoder = processor.decoder
        let runner = FiniteConsumption(
            consumer: consumer, topic: configuration.kafka.topic, maxInFlight: configuration.processing.maxInFlight, logger: logger)
        _ = try await runner.run(ranges: Dictionary(uniqueKeysWithValues: plans.map { ($0.partition, ($0.start, $0.end)) })) { message in
            guard inWindow(message.timestamp, fromMs: fromMs, toMs: toMs) else { return true }
            let record = InboundRecord(message)
            switch decoder.decode(key: record.key, value: record.value, header: { record.header($0) }) {
            case .failure(let bad):
                // Other bad input was dead-lettered when the service first read it. A missing key is
                // this keyring's doing (a removed key shreds): dead-letter it with its reason.
                guard bad.code == "key_unavailable" else {
                    counter.add(\.skippedBadInput)
                    return true
                }
                logger.warning(
                    "cannot decrypt the event; dead-lettering",
                    metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(bad.code)"])
                guard await DeadLetterRedrive.writeAgain(processor, record, reason: bad.description, owed: []) else {
                    counter.add(\.abandoned)
                    return false
                }
                processor.metrics.deadLettered(reasonCode: bad.code)
                counter.add(\.deadLettered)
                return true
            case .success(let event):
                let result = await processor.apply(event, record: record, to: destinations)
                switch result {
                case .erased: counter.add(\.applied)
                case .deadLettered: counter.add(\.deadLettered)
                case .abandoned: counter.add(\.abandoned)
                }
                return result != .abandoned
            }
        }
        var summary = Summary(plans: plans)
        counter.fill(&summary)
        return summary
    }
}
