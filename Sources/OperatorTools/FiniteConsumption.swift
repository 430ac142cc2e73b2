import Engine
import Kafka
import Logging
import ServiceRuntime

/// Consumes fixed offset ranges with manual assignment (no group membership) and runs `work` on each
/// record, at most `maxInFlight` at once; commits the group's progress (the first offset not yet
/// done per partition) every second and at the end. The basis of `replay` and `dlq redrive`.
struct FiniteConsumption {
    let consumer: KafkaConsumer
    let topic: String
    let maxInFlight: Int
    let logger: Logger

    /// - Parameter work: returns `true` when the record is done (it may then be committed).
    /// - Returns: how many records were handed to `work`.
    func run(ranges: [Int32: (start: Int64, end: Int64)], work: @escaping @Sendable (KafkaMessage) async -> Bool) async throws -> Int {
        var remaining = ranges.filter { $0.value.end > $0.value.start }
        guard !remaining.isEmpty else { return 0 }
        try consumer.assign(remaining.map { TopicPartitionOffset(TopicPartition(topic: topic, partition: $0.key), offset: $0.value.start) })
        var trackers: [Int32: OffsetTracker] = [:]
        var handed = 0
        var lastCommit = ContinuousClock.now
        var lastProgress = ContinuousClock.now
        try await withThrowingTaskGroup(of: (Int32, Int64, Bool).self) { group in
            var inFlight = 0
            func settle(_ result: (Int32, Int64, Bool)) {
                inFlight -= 1
                if result.2 { trackers[result.0]?.finish(result.1) }
            }
            while !remaining.isEmpty || inFlight > 0 {
                if inFlight >= maxInFlight || remaining.isEmpty {
                    if let result = try await group.next() { settle(result) }
                    continue
                }
                guard let message = try consumer.poll(timeoutMs: 0) else {
                    if ContinuousClock.now - lastProgress > .seconds(60) {
                        throw ServiceError("no records from \(topic) for 60 s; partitions left: \(remaining.keys.sorted())")
                    }
                    try await Task.sleep(for: .milliseconds(5))
                    continue
                }
                lastProgress = .now
                let partition = message.topicPartition.partition
                guard let range = remaining[partition], message.offset < range.end else { continue }
                if message.offset + 1 >= range.end { remaining.removeValue(forKey: partition) }
                trackers[partition, default: OffsetTracker()].begin(message.offset)
                handed += 1
                inFlight += 1
                group.addTask { (partition, message.offset, await work(message)) }
                if ContinuousClock.now - lastCommit > .seconds(1) {
                    commit(trackers)
                    lastCommit = .now
                }
            }
        }
        commit(trackers)
        return handed
    }

    private func commit(_ trackers: [Int32: OffsetTracker]) {
        let offsets = trackers.compactMap { partition, tracker in
            tracker.committable.map { TopicPartitionOffset(TopicPartition(topic: topic, partition: partition), offset: $0) }
        }
        do { try consumer.commit(offsets) } catch {
            logger.warning("progress commit failed", metadata: ["error": "\(error)"])
        }
    }
}
