import Foundation
import Logging

/// Tracks every offset of every assigned partition and dispatches work: in parallel across keys,
/// in order within a key (a user), bounded by `maxInFlight`; pauses a partition whose buffer is full.
///
/// The poll loop calls ``accept(_:)`` for each record, applies ``takeActions()`` each turn, and
/// calls ``assign(_:)``, ``revoke(_:grace:)`` and ``lose(_:)`` from its rebalance handler.
public final class DispatchEngine: @unchecked Sendable {
    public typealias Work = @Sendable (InboundRecord) async -> EventResult

    private struct Job {
        var id: UInt64
        var partition: PartitionID
        var epoch: UInt64
        var key: String
        var record: InboundRecord
    }

    /// A reference type on purpose: the engine mutates it in place under its lock. (As a struct
    /// copied out of and back into the dictionary, every accept and completion copied its arrays
    /// and dictionaries, O(buffered) per event.)
    private final class Partition {
        let epoch: UInt64
        var tracker = OffsetTracker()
        /// A key present here is busy; its array holds the jobs waiting behind it.
        var waitingByKey: [String: [Job]] = [:]
        var buffered = 0
        var inFlight = 0
        var paused = false
        var stalled = false
        var revoking = false
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var lastReported: Int64?

        init(epoch: UInt64) { self.epoch = epoch }
    }

    private let condition = NSCondition()
    private var partitions: [PartitionID: Partition] = [:]
    private var ready: [Job] = []
    private var readyHead = 0
    private var inFlight = 0
    private var nextJobID: UInt64 = 0
    private var nextEpoch: UInt64 = 0
    private var actions = EngineActions()
    private var intakeOpen = true
    private var duplicateCount = 0
    /// Assigned partitions that are paused (kept here instead of counted per event).
    private var pausedCount = 0
    private var reportedPausedCount = -1

    /// Called (outside the lock) when a completion made a partition resumable, so the poll loop
    /// applies the resume now instead of after its current poll's timeout.
    private var wakeup: (@Sendable () -> Void)?

    public let configuration: DispatchConfiguration
    private let work: Work
    private let metrics: EngineMetrics
    private let logger: Logger

    public init(configuration: DispatchConfiguration, metrics: EngineMetrics, logger: Logger, work: @escaping Work) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.work = work
    }

    /// Sets the hook called when a partition becomes resumable (see ``takeActions()``).
    public func setWakeup(_ wakeup: (@Sendable () -> Void)?) {
        condition.lock()
        defer { condition.unlock() }
        self.wakeup = wakeup
    }

    // MARK: - Assignment

    /// Starts tracking newly assigned partitions.
    public func assign(_ assigned: [PartitionID]) {
        condition.lock()
        defer { condition.unlock() }
        for id in assigned where partitions[id] == nil {
            nextEpoch += 1
            partitions[id] = Partition(epoch: nextEpoch)
        }
        metrics.partitionsAssigned.record(partitions.count)
    }

    /// Stops dispatching the partitions, waits up to `grace` for their in-flight work, then drops
    /// them. Returns the committable offset of each (to store and commit before unassigning).
    public func revoke(_ revoked: [PartitionID], grace: Duration) -> [PartitionID: Int64] {
        condition.lock()
        defer { condition.unlock() }
        for id in revoked { partitions[id]?.revoking = true }
        let deadline = Date().addingTimeInterval(grace.seconds)
        while revoked.contains(where: { (partitions[$0]?.inFlight ?? 0) > 0 }) {
            if !condition.wait(until: deadline) { break }
        }
        var result: [PartitionID: Int64] = [:]
        for id in revoked {
            guard let partition = partitions.removeValue(forKey: id) else { continue }
            if let committable = partition.tracker.committable { result[id] = committable }
            if partition.inFlight > 0 {
                logger.warning("abandoning unfinished work of a revoked partition", metadata: [
                    "partition": "\(id)", "in_flight": "\(partition.inFlight)",
                ])
            }
            drop(partition, id: id)
        }
        metrics.partitionsAssigned.record(partitions.count)
        dispatchReady()
        return result
    }

    /// Drops lost partitions at once: the new owner redelivers their work.
    public func lose(_ lost: [PartitionID]) {
        condition.lock()
        defer { condition.unlock() }
        for id in lost {
            guard let partition = partitions.removeValue(forKey: id) else { continue }
            drop(partition, id: id)
        }
        metrics.partitionsAssigned.record(partitions.count)
        dispatchReady()
    }

    private func drop(_ partition: Partition, id: PartitionID) {
        for task in partition.tasks.values { task.cancel() }
        inFlight -= partition.inFlight
        metrics.inFlight.record(inFlight)
        if partition.paused {
            pausedCount -= 1
            actions.resume.insert(id)
        }
        actions.pause.remove(id)
        actions.stores.removeValue(forKey: id)
        refreshPausedGauge()
    }

    // MARK: - Intake

    /// Takes one record. Returns `false` when it is not taken (partition not assigned, or intake closed).
    @discardableResult
    public func accept(_ record: InboundRecord) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard intakeOpen, let partition = partitions[record.partition], !partition.revoking else { return false }
        guard partition.tracker.begin(record.offset) else {
            duplicateCount += 1
            return false
        }
        nextJobID += 1
        let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "\u{0}offset:\(record.offset)"
        let job = Job(id: nextJobID, partition: record.partition, epoch: partition.epoch, key: key, record: record)
        partition.buffered += 1
        if partition.waitingByKey[key]?.append(job) == nil {
            partition.waitingByKey[key] = []
            ready.append(job)
        }
        if partition.buffered >= configuration.maxBufferedPerPartition, !partition.paused {
            partition.paused = true
            pausedCount += 1
            actions.pause.insert(record.partition)
            actions.resume.remove(record.partition)
        }
        dispatchReady()
        refreshPausedGauge()
        return true
    }

    /// Pending stores, pauses and resumes for the poll loop; clears them.
    public func takeActions() -> EngineActions {
        condition.lock()
        defer { condition.unlock() }
        let taken = actions
        actions = EngineActions()
        return taken
    }

    /// Pauses a partition while its dead-letter writes fail, and resumes it after.
    public func setStalled(_ id: PartitionID, _ stalled: Bool) {
        condition.lock()
        defer { condition.unlock() }
        guard let partition = partitions[id] else { return }
        partition.stalled = stalled
        updatePause(partition, id: id)
        refreshPausedGauge()
    }

    // MARK: - Dispatch

    /// Must hold the lock.
    private func dispatchReady() {
        while inFlight < configuration.maxInFlight, readyHead < ready.count {
            let job = ready[readyHead]
            readyHead += 1
            guard let partition = partitions[job.partition], partition.epoch == job.epoch, !partition.revoking else { continue }
            inFlight += 1
            partition.inFlight += 1
            let work = self.work
            partition.tasks[job.id] = Task {
                let result = await work(job.record)
                self.complete(job, result)
            }
        }
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        } else if readyHead > 4096, readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        metrics.inFlight.record(inFlight)
    }

    private func complete(_ job: Job, _ result: EventResult) {
        condition.lock()
        let resumesBefore = actions.resume.count
        completeLocked(job, result)
        let wake = actions.resume.count > resumesBefore ? wakeup : nil
        condition.broadcast()
        condition.unlock()
        wake?()
    }

    /// Must hold the lock.
    private func completeLocked(_ job: Job, _ result: EventResult) {
        guard let partition = partitions[job.partition], partition.epoch == job.epoch else { return }
        inFlight -= 1
        partition.inFlight -= 1
        partition.tasks.removeValue(forKey: job.id)
        if result != .abandoned {
            partition.buffered -= 1
            if partition.tracker.finish(job.record.offset), let committable = partition.tracker.committable {
                if partition.lastReported != committable {
                    partition.lastReported = committable
                    actions.stores[job.partition] = committable
                }
            }
            if let waiting = partition.waitingByKey[job.key] {
                if waiting.isEmpty {
                    partition.waitingByKey.removeValue(forKey: job.key)
                } else {
                    let next = partition.waitingByKey[job.key]!.removeFirst()
                    if !partition.revoking { ready.append(next) }
                }
            }
        }
        updatePause(partition, id: job.partition)
        dispatchReady()
        refreshPausedGauge()
    }

    /// Must hold the lock.
    private func updatePause(_ partition: Partition, id: PartitionID) {
        let full = partition.buffered >= configuration.maxBufferedPerPartition
        let drained = partition.buffered <= configuration.maxBufferedPerPartition / 2
        if !partition.paused, full || partition.stalled {
            partition.paused = true
            pausedCount += 1
            actions.pause.insert(id)
            actions.resume.remove(id)
        } else if partition.paused, drained, !partition.stalled {
            partition.paused = false
            pausedCount -= 1
            actions.resume.insert(id)
            actions.pause.remove(id)
        }
    }

    /// Must hold the lock. Records the gauge only when the count changed.
    private func refreshPausedGauge() {
        guard pausedCount != reportedPausedCount else { return }
        reportedPausedCount = pausedCount
        metrics.partitionsPaused.record(pausedCount)
    }

    // MARK: - Shutdown

    /// Stops taking records and starting queued work; waits up to `grace` for in-flight work,
    /// cancels what is left (it stays uncommitted) and returns every partition's committable offset.
    public func drain(grace: Duration) -> [PartitionID: Int64] {
        condition.lock()
        defer { condition.unlock() }
        intakeOpen = false
        ready.removeAll()
        readyHead = 0
        let deadline = Date().addingTimeInterval(grace.seconds)
        while inFlight > 0 {
            if !condition.wait(until: deadline) { break }
        }
        var result: [PartitionID: Int64] = [:]
        for (id, partition) in partitions {
            if let committable = partition.tracker.committable { result[id] = committable }
            if partition.inFlight > 0 {
                logger.warning("abandoning unfinished work at shutdown", metadata: ["partition": "\(id)", "in_flight": "\(partition.inFlight)"])
                for task in partition.tasks.values { task.cancel() }
            }
        }
        return result
    }

    // MARK: - Introspection

    /// Events being applied right now.
    public var inFlightCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return inFlight
    }

    /// Committable offset per assigned partition.
    public var committableOffsets: [PartitionID: Int64] {
        condition.lock()
        defer { condition.unlock() }
        return partitions.compactMapValues { $0.tracker.committable }
    }

    /// Assigned partitions, and whether each is paused.
    public var assignedPartitions: [PartitionID: Bool] {
        condition.lock()
        defer { condition.unlock() }
        return partitions.mapValues(\.paused)
    }

    /// Records ignored because their offset had already been taken in this assignment.
    public var ignoredRedeliveries: Int {
        condition.lock()
        defer { condition.unlock() }
        return duplicateCount
    }
}
