import Engine
import Kafka
import Logging
import ServiceRuntime

/// Consumes fixed offset ranges with manual assignment (no group membership) and runs `work` on each
/// record, at most `maxInFlight` at once; commits the group's progress as ``CommitPolicy`` says
/// (the first offset not yet done per partition, every second and at the end). The basis of
/// `replay` and `dlq redrive`.
struct FiniteConsumption {
    let consumer: KafkaConsumer
    let topic: String
    let maxInFlight: Int
    let logger: Logger

    /// - Parameter work: returns `true` when the record is done (it may then be committed).
    /// - Returns: how many records were handed to `work`.
    func run(ranges: [Int32: (start: Int64, end: Int64)], work: @escaping @Sendable (KafkaMessage) async -> Bool) async throws -> Int {
        var reading = try RangeRead(consumer: consumer, topic: topic, ranges: ranges, stallTimeout: .seconds(60))
        guard !reading.isFinished else { return 0 }
        var trackers: [Int32: OffsetTracker] = [:]
        var handed = 0
        var lastCommit = ContinuousClock.now
        try await withThrowingTaskGroup(of: (Int32, Int64, Bool).self) { group in
            var inFlight = 0
            func settle(_ result: (Int32, Int64, Bool)) {
                inFlight -= 1
                if result.2 { trackers[result.0]?.finish(result.1) }
            }
            while !reading.isFinished || inFlight > 0 {
                if inFlight >= maxInFlight || reading.isFinished {
                    if let result = try await group.next() { settle(result) }
                    continue
                }
                guard let message = try reading.next(pollTimeoutMs: 0) else {
                    try await Task.sleep(for: .milliseconds(5))
                    continue
                }
                let partition = message.topicPartition.partition
                trackers[partition, default: OffsetTracker()].begin(message.offset)
                handed += 1
                inFlight += 1
                group.addTask { (partition, message.offset, await work(message)) }
                if ContinuousClock.now - lastCommit > CommitPolicy.toolProgressInterval {
                    commit(trackers)
                    lastCommit = .now
                }
            }
        }
        commit(trackers)
        return handed
    }

    private func commit(_ trackers: [Int32: OffsetTracker]) {
        do { try consumer.commit(CommitPolicy.offsets(trackers, topic: topic)) } catch {
            logger.warning("progress commit failed", metadata: ["error": "\(error)"])
        }
    }
}
