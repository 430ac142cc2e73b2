import Foundation
import Logging
import Metrics

/// Tracks every offset of every assigned partition and dispatches work: in parallel across keys,
/// in order within a key (a user), bounded by `maxInFlight`; pauses a partition whose buffer is
/// full, whose uncommitted span is too long, or whose dead-letter writes fail.
///
/// The poll loop calls ``accept(_:)`` for each record, applies ``takeActions()`` each turn, calls
/// ``inspect(now:)`` about once a second, and calls ``assign(_:)``, ``revoke(_:grace:)`` and
/// ``lose(_:)`` from its rebalance handler.
///
/// Work that outlives its partition (a revoke whose grace expired, a lost partition, shutdown) is
/// cancelled but still counted until its task has really ended: it keeps its slot of
/// `maxInFlight`, and its key stays locked, so a partition assigned back to this member never
/// runs the same user twice at once.
///
/// Work is started in chunks: one task runs the start (``WorkStart``) of up to
/// ``startChunkSize`` records, and the records it finished are settled together under one lock.
/// Only a record whose work has to wait gets a task of its own. So a record whose destinations
/// answer at once costs no task and no lock of its own.
///
/// `@unchecked Sendable`: all mutable state is read and written under `condition` (an
/// NSCondition, because revoke, drain and waitForRoom wait on it; `Mutex` cannot wait).
package final class DispatchEngine: @unchecked Sendable {
    package typealias Work = @Sendable (InboundRecord) async -> EventResult
    package typealias Start = @Sendable (InboundRecord) -> WorkStart

    /// Records whose work one task starts (see ``WorkStart``).
    package static let startChunkSize = 32

    /// The job a task runs, visible to the work through a task-local (see ``setStalled(_:_:)``).
    package struct JobContext: Sendable {
        let id: UInt64
        let partition: PartitionID
        let epoch: UInt64
    }

    /// The job the current task runs for this engine, if any.
    @TaskLocal package static var currentJob: JobContext?

    /// A reference type: a job is held in several places at once (the ready queue, its key's
    /// queue, its partition's running jobs), and passing one reference costs one retain where the
    /// struct's fields cost one each. `@unchecked Sendable`: its `var`s are read and written
    /// under the engine's lock only; the rest is immutable.
    private final class Job: @unchecked Sendable {
        let id: UInt64
        let partition: PartitionID
        /// The assignment of the partition the job belongs to (a later assignment of the same
        /// partition is another object). Held strongly; ``drop(_:id:)`` clears the partition's
        /// queues, so no cycle outlives it.
        let home: Partition
        let key: String
        let record: InboundRecord
        /// The task running the job's waiting part, once it has one.
        var task: Task<Void, Never>?
        /// Set when its partition was dropped while the job ran (see ``orphan(_:)``).
        var orphaned = false

        init(id: UInt64, partition: PartitionID, home: Partition, key: String, record: InboundRecord) {
            self.id = id
            self.partition = partition
            self.home = home
            self.key = key
            self.record = record
        }

        var context: JobContext { JobContext(id: id, partition: partition, epoch: home.epoch) }
    }

    /// A reference type on purpose: the engine mutates it in place under its lock (a struct copied
    /// out of and back into the dictionary would copy its arrays for every event).
    private final class Partition {
        let epoch: UInt64
        var tracker = OffsetTracker()
        /// A key present here is busy; its array holds the jobs waiting behind it.
        var waitingByKey: [String: [Job]] = [:]
        var buffered = 0
        var inFlight = 0
        var paused = false
        /// Paused because it is over its reserved share while the shared part of the total is used
        /// up (see ``DispatchEngine/reservedShare``).
        var heldForShare = false
        var revoking = false
        /// Jobs whose dead-letter writes are failing right now; the partition is paused while any is.
        var stalledJobs: Set<UInt64> = []
        /// Started jobs not ended yet, by id (a job's task is set once its waiting part began).
        var running: [UInt64: Job] = [:]
        /// Set when the partition left this engine (revoked, lost); its running jobs are orphans.
        var dropped = false
        var lastReported: Int64?
        /// The oldest unfinished offset already logged as stuck (logged once per offset).
        var warnedStuckOffset: Int64?
        let oldestAge: Gauge

        init(epoch: UInt64, id: PartitionID) {
            self.epoch = epoch
            oldestAge = Gauge(
                label: "retirement_oldest_unfinished_event_seconds",
                dimensions: [("topic", id.topic), ("partition", String(id.partition))])
        }

        var uncommittedSpan: Int { tracker.pendingCount }
    }

    private let condition = NSCondition()
    private var partitions: [PartitionID: Partition] = [:]
    private var ready: [Job] = []
    private var readyHead = 0
    /// Started jobs not ended yet, including those of partitions no longer assigned.
    private var inFlight = 0
    /// Set when ``drain(grace:)`` cancelled what was left: a waiting part that begins later is
    /// cancelled at once.
    private var cancelledAll = false
    /// How many orphaned jobs still hold each key, per partition.
    private var orphanKeys: [PartitionID: [String: Int]] = [:]
    private var nextJobID: UInt64 = 0
    private var nextEpoch: UInt64 = 0
    private var actions = EngineActions()
    private var intakeOpen = true
    private var duplicateCount = 0
    /// Assigned partitions that are paused (kept here instead of counted per event).
    private var pausedCount = 0
    /// Events accepted and not done, across assigned partitions (see ``DispatchConfiguration/maxBufferedTotal``).
    private var bufferedTotal = 0
    /// Set when ``bufferedTotal`` stayed at ``DispatchConfiguration/maxBufferedTotal`` for
    /// ``DispatchConfiguration/totalHoldAfter`` (work is stuck), cleared when it fell to half:
    /// while set, every assigned partition is paused (see ``waitForRoom(timeout:)``).
    private var totalHeld = false
    /// Since when ``bufferedTotal`` is at the total (`nil` while below it).
    private var fullSince: ContinuousClock.Instant?
    /// Half of ``DispatchConfiguration/maxBufferedTotal`` is reserved, an equal share for each
    /// assigned partition; the other half is shared by all. The poll loop never lets a partition
    /// past its share take more than the shared half has free (see ``IntakeRoom``), so stuck
    /// partitions can fill their shares and the shared half, never the shares of the partitions
    /// still moving. When the shared half stays used up for
    /// ``DispatchConfiguration/totalHoldAfter`` (no event past a share ended), the partitions past
    /// their share are paused (``Partition/heldForShare``) until a quarter of it is free, so the
    /// moving ones are handed their records.
    private var reservedShare = 0
    /// Since when the shared part is used up (`nil` while it has room).
    private var sharedFullSince: ContinuousClock.Instant?
    /// Set when the shared part stayed used up for ``DispatchConfiguration/totalHoldAfter``;
    /// cleared when a quarter of it is free again.
    private var sharesHeld = false
    /// The part of the total not reserved: `maxBufferedTotal - partitions × reservedShare`.
    private var sharedPool = 0
    /// Σ max(0, buffered − reservedShare) over the assigned partitions: the shared part in use.
    private var sharedInUse = 0
    private var reportedPausedCount = -1

    /// Called (outside the lock) when a completion made a partition resumable, so the poll loop
    /// applies the resume now instead of after its current poll's timeout.
    private var wakeup: (@Sendable () -> Void)?

    package let configuration: DispatchConfiguration
    private let start: Start
    private let metrics: EngineMetrics
    private let logger: Logger

    /// An engine whose work may finish without waiting (see ``WorkStart``).
    package init(configuration: DispatchConfiguration, metrics: EngineMetrics, logger: Logger, start: @escaping Start) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.start = start
        // No partition yet: nothing reserved, the whole total shared (polls must go on, or no
        // rebalance is ever served).
        sharedPool = configuration.maxBufferedTotal
    }

    /// An engine whose work always runs in a task of its own.
    package convenience init(configuration: DispatchConfiguration, metrics: EngineMetrics, logger: Logger, work: @escaping Work) {
        self.init(configuration: configuration, metrics: metrics, logger: logger) { record in .waits { await work(record) } }
    }

    /// Sets the hook called when a partition becomes resumable (see ``takeActions()``).
    package func setWakeup(_ wakeup: (@Sendable () -> Void)?) {
        condition.lock()
        defer { condition.unlock() }
        self.wakeup = wakeup
    }

    // MARK: - Assignment

    /// Starts tracking newly assigned partitions. Keys still held by orphaned work of an earlier
    /// assignment of the same partition stay locked until that work ends.
    package func assign(_ assigned: [PartitionID]) {
        condition.lock()
        defer { condition.unlock() }
        for id in assigned where partitions[id] == nil {
            nextEpoch += 1
            let partition = Partition(epoch: nextEpoch, id: id)
            for key in (orphanKeys[id] ?? [:]).keys { partition.waitingByKey[key] = [] }
            partitions[id] = partition
            if totalHeld { updatePause(partition, id: id) }
        }
        recomputeShares()
        metrics.partitionsAssigned.record(partitions.count)
    }

    /// Marks partitions as being revoked before anything else happens in the revoke: from now on
    /// no record of theirs is taken and no work of theirs starts (records read before the revoke
    /// and handed over after this call stay with librdkafka, for the next owner). The rebalance
    /// handler calls it first, so no event starts here while another member may start it too.
    package func beginRevoke(_ revoked: [PartitionID]) {
        condition.lock()
        defer { condition.unlock() }
        for id in revoked { partitions[id]?.revoking = true }
    }

    /// Stops dispatching the partitions, waits up to `grace` for their in-flight work, then drops
    /// them. Returns the committable offset of each (to store and commit before unassigning).
    package func revoke(_ revoked: [PartitionID], grace: Duration) -> [PartitionID: Int64] {
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
                logger.warning(
                    "abandoning unfinished work of a revoked partition",
                    metadata: ["partition": "\(id)", "in_flight": "\(partition.inFlight)"])
            }
            drop(partition, id: id)
        }
        recomputeShares()
        metrics.partitionsAssigned.record(partitions.count)
        dispatchReady()
        return result
    }

    /// Drops lost partitions at once: the new owner redelivers their work.
    package func lose(_ lost: [PartitionID]) {
        condition.lock()
        defer { condition.unlock() }
        for id in lost {
            guard let partition = partitions.removeValue(forKey: id) else { continue }
            drop(partition, id: id)
        }
        recomputeShares()
        metrics.partitionsAssigned.record(partitions.count)
        dispatchReady()
    }

    /// Must hold the lock. Cancels the partition's running work and keeps it counted as orphaned.
    private func drop(_ partition: Partition, id: PartitionID) {
        addBuffered(-partition.buffered, to: partition)
        partition.heldForShare = false
        partition.dropped = true
        defer { refreshTotalHold() }
        for job in partition.running.values {
            job.task?.cancel()
            orphan(job)
        }
        partition.running = [:]
        partition.waitingByKey = [:]
        partition.oldestAge.record(0)
        if partition.paused {
            pausedCount -= 1
            actions.resume.insert(id)
        }
        actions.pause.remove(id)
        actions.stores.removeValue(forKey: id)
        refreshPausedGauge()
    }

    /// Must hold the lock. The job's partition left; its key stays locked until the job ends.
    private func orphan(_ job: Job) {
        job.orphaned = true
        orphanKeys[job.partition, default: [:]][job.key, default: 0] += 1
    }

    // MARK: - Intake

    /// Takes one record. Returns `false` when it is not taken (partition not assigned, or intake closed).
    @discardableResult
    package func accept(_ record: InboundRecord) -> Bool {
        accept(CollectionOfOne(record)) == 1
    }

    /// Takes records in order under one lock (the poll loop hands over what one poll turn read).
    /// Returns how many were taken; a record is not taken when its partition is not assigned or
    /// is being revoked, when intake is closed, or when its offset was already taken.
    @discardableResult
    package func accept(_ records: some Sequence<InboundRecord>) -> Int {
        condition.lock()
        defer { condition.unlock() }
        guard intakeOpen else { return 0 }
        var taken = 0
        var partition: Partition?
        var partitionID: PartitionID?
        var unheld: [PartitionID: Int] = [:]
        let now = ContinuousClock.now
        defer { countUnheld(unheld) }
        for record in records {
            if record.partition != partitionID {
                partitionID = record.partition
                partition = partitions[record.partition]
            }
            guard let partition else {
                unheld[record.partition, default: 0] += 1
                continue
            }
            guard !partition.revoking else { continue }
            guard partition.tracker.begin(record.offset, at: now) else {
                duplicateCount += 1
                continue
            }
            nextJobID += 1
            let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "\u{0}offset:\(record.offset)"
            let job = Job(id: nextJobID, partition: record.partition, home: partition, key: key, record: record)
            addBuffered(1, to: partition)
            if partition.waitingByKey[key]?.append(job) == nil {
                partition.waitingByKey[key] = []
                ready.append(job)
            }
            updatePause(partition, id: record.partition)
            refreshTotalHold()
            taken += 1
        }
        dispatchReady()
        refreshPausedGauge()
        return taken
    }

    /// Must hold the lock. Records of partitions this engine does not hold: librdkafka still
    /// delivered them, so its view of the assignment differs from the engine's. They are not
    /// processed (the partition's owner does); counted and logged, never silent.
    private func countUnheld(_ unheld: [PartitionID: Int]) {
        guard !unheld.isEmpty else { return }
        for (id, count) in unheld {
            unheldSkipped += count
            logger.warning("records of a partition not assigned here were skipped", metadata: ["partition": "\(id)", "records": "\(count)"])
        }
    }

    private var unheldSkipped = 0

    /// Records skipped because their partition was not assigned to this engine (see ``accept(_:)``).
    package var unheldRecordsSkipped: Int {
        condition.lock()
        defer { condition.unlock() }
        return unheldSkipped
    }

    /// How many more records each assigned partition may take before it would be paused, and
    /// across all of them (see ``IntakeRoom``). A paused or revoking partition has none.
    package func intakeRoom() -> IntakeRoom {
        condition.lock()
        defer { condition.unlock() }
        holdSharesIfStuck(now: .now)
        var byPartition: [PartitionID: Int] = [:]
        var reserved: [PartitionID: Int] = [:]
        byPartition.reserveCapacity(partitions.count)
        reserved.reserveCapacity(partitions.count)
        let shared = max(0, sharedPool - sharedInUse)
        for (id, partition) in partitions {
            let ownShare = max(0, reservedShare - partition.buffered)
            let room =
                partition.paused || partition.revoking
                ? 0
                : min(
                    configuration.maxBufferedPerPartition - partition.buffered,
                    configuration.maxUncommittedPerPartition - partition.uncommittedSpan,
                    reservedShare > 0 ? ownShare + shared : Int.max)
            byPartition[id] = max(0, room)
            reserved[id] = ownShare
        }
        return IntakeRoom(
            byPartition: byPartition, total: max(0, configuration.maxBufferedTotal - bufferedTotal), reserved: reserved, shared: shared,
            isOpen: intakeHasRoom)
    }

    /// Waits up to `timeout` until the engine holds fewer than
    /// ``DispatchConfiguration/maxBufferedTotal`` events (at once when it does). The poll loop
    /// calls it instead of reading more when the total is reached, and reads nothing while the
    /// total stays full: the backlog stays in librdkafka's queue, bounded there, with no pause
    /// and no refetch. Once it stayed full for ``DispatchConfiguration/totalHoldAfter`` (work is
    /// stuck), every partition is paused until half of the total is free, so the poll loop can
    /// poll again (callbacks, `max.poll.interval.ms`) without being handed records.
    /// Returns whether there is room.
    @discardableResult
    package func waitForRoom(timeout: Duration) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout.seconds)
        while intakeOpen, !intakeHasRoom {
            if !condition.wait(until: deadline) { break }
        }
        let room = intakeHasRoom
        if !room {
            holdIfStuck(now: .now)
            holdSharesIfStuck(now: .now)
        }
        return intakeHasRoom
    }

    /// Must hold the lock. Whether the poll loop may read: the total has room, and so has the
    /// shared part, unless the partitions past their share are held (paused): polls then hand
    /// over only records of partitions within their share (see ``reservedShare``). The poll loop
    /// cannot choose whose records librdkafka hands over; it can only not poll.
    private var intakeHasRoom: Bool {
        bufferedTotal < configuration.maxBufferedTotal && (sharedInUse < sharedPool || sharesHeld)
    }

    /// Pending stores, pauses and resumes for the poll loop; clears them.
    package func takeActions() -> EngineActions {
        condition.lock()
        defer { condition.unlock() }
        let taken = actions
        actions = EngineActions()
        return taken
    }

    /// Called by the work while a dead-letter write keeps failing (`true`) and once it recovered
    /// (`false`). The flag belongs to the calling job (found through ``currentJob``): a job of an
    /// earlier assignment, or one that already ended, changes nothing.
    package func setStalled(_ id: PartitionID, _ stalled: Bool) {
        guard let job = DispatchEngine.currentJob, job.partition == id else { return }
        condition.lock()
        defer { condition.unlock() }
        guard let partition = partitions[id], partition.epoch == job.epoch, partition.running[job.id] != nil else { return }
        if stalled { partition.stalledJobs.insert(job.id) } else { partition.stalledJobs.remove(job.id) }
        let resumesBefore = actions.resume.count
        updatePause(partition, id: id)
        refreshPausedGauge()
        if actions.resume.count > resumesBefore, let wakeup {
            condition.unlock()
            wakeup()
            condition.lock()
        }
    }

    // MARK: - Dispatch

    /// Must hold the lock. Starts ready jobs while slots are free, in chunks of
    /// ``startChunkSize`` per task.
    private func dispatchReady() {
        var chunk: [Job] = []
        while inFlight < configuration.maxInFlight, readyHead < ready.count {
            let job = ready[readyHead]
            readyHead += 1
            let partition = job.home
            guard !partition.dropped, !partition.revoking else { continue }
            inFlight += 1
            partition.inFlight += 1
            partition.running[job.id] = job
            if chunk.isEmpty { chunk.reserveCapacity(Self.startChunkSize) }
            chunk.append(job)
            if chunk.count == Self.startChunkSize {
                startChunk(chunk)
                chunk = []
            }
        }
        if !chunk.isEmpty { startChunk(chunk) }
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        } else if readyHead > 4096, readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        metrics.inFlight.record(inFlight)
    }

    /// Must hold the lock. One task starts the jobs' work outside the lock, then settles what
    /// finished and hands what waits a task of its own, under one lock. A single job (the usual
    /// case once in-flight work completes one by one) runs start and rest in one task.
    private func startChunk(_ jobs: [Job]) {
        let start = self.start
        if jobs.count == 1 {
            let job = jobs[0]
            job.task = Task {
                let result: EventResult
                switch start(job.record) {
                case .finished(let finished): result = finished
                case .waits(let rest): result = await DispatchEngine.$currentJob.withValue(job.context) { await rest() }
                }
                self.complete(job, result)
            }
            return
        }
        Task {
            var finished: [(Job, EventResult)] = []
            var waiting: [(Job, @Sendable () async -> EventResult)] = []
            for job in jobs {
                switch start(job.record) {
                case .finished(let result): finished.append((job, result))
                case .waits(let rest): waiting.append((job, rest))
                }
            }
            self.settle(finished: finished, waiting: waiting)
        }
    }

    private func settle(finished: [(Job, EventResult)], waiting: [(Job, @Sendable () async -> EventResult)]) {
        settling {
            for (job, rest) in waiting {
                let context = job.context
                let task = Task {
                    let result = await DispatchEngine.$currentJob.withValue(context) { await rest() }
                    self.complete(job, result)
                }
                // A job orphaned (or shut down) before its waiting part began ends it at once.
                if job.orphaned || cancelledAll { task.cancel() } else { job.task = task }
            }
            if !finished.isEmpty {
                for (job, result) in finished { completeLocked(job, result) }
                afterCompletions()
            }
        }
    }

    private func complete(_ job: Job, _ result: EventResult) {
        settling {
            completeLocked(job, result)
            afterCompletions()
        }
    }

    /// Runs `body` under the lock, then wakes whoever waits on it (revoke, drain, waitForRoom) and,
    /// when `body` made a partition resumable, the poll loop (outside the lock).
    private func settling(_ body: () -> Void) {
        condition.lock()
        let resumesBefore = actions.resume.count
        body()
        let wake = actions.resume.count > resumesBefore ? wakeup : nil
        condition.broadcast()
        condition.unlock()
        wake?()
    }

    /// Must hold the lock. What follows one or more completions, once.
    private func afterCompletions() {
        refreshTotalHold()
        releaseShareHoldsIfRoom()
        dispatchReady()
        refreshPausedGauge()
    }

    /// Must hold the lock.
    private func completeLocked(_ job: Job, _ result: EventResult) {
        inFlight -= 1
        if job.orphaned {
            completeOrphan(job, result)
            return
        }
        let partition = job.home
        partition.inFlight -= 1
        partition.running.removeValue(forKey: job.id)
        partition.stalledJobs.remove(job.id)
        if result != .abandoned {
            addBuffered(-1, to: partition)
            if partition.tracker.finish(job.record.offset) { reportCommittable(partition, id: job.partition) }
            releaseKey(job.key, of: partition)
        }
        updatePause(partition, id: job.partition)
    }

    /// Must hold the lock. An orphaned task ended: its slot was freed above; now its key. If the
    /// partition is assigned here again and the same record waits there, a finished result settles
    /// it without running it twice.
    private func completeOrphan(_ job: Job, _ result: EventResult) {
        if var keys = orphanKeys[job.partition], let count = keys[job.key] {
            if count <= 1 { keys.removeValue(forKey: job.key) } else { keys[job.key] = count - 1 }
            orphanKeys[job.partition] = keys.isEmpty ? nil : keys
        }
        guard let partition = partitions[job.partition], partition !== job.home else { return }
        guard orphanKeys[job.partition]?[job.key] == nil else { return }
        if result != .abandoned, let waiting = partition.waitingByKey[job.key],
            let index = waiting.firstIndex(where: { $0.record.offset == job.record.offset })
        {
            partition.waitingByKey[job.key]!.remove(at: index)
            addBuffered(-1, to: partition)
            refreshTotalHold()
            if partition.tracker.finish(job.record.offset) { reportCommittable(partition, id: job.partition) }
        }
        releaseKey(job.key, of: partition)
        updatePause(partition, id: job.partition)
    }

    /// Must hold the lock. The key's running job ended: start the next one waiting, or free the key.
    private func releaseKey(_ key: String, of partition: Partition) {
        guard let waiting = partition.waitingByKey[key] else { return }
        if waiting.isEmpty {
            partition.waitingByKey.removeValue(forKey: key)
        } else {
            let next = partition.waitingByKey[key]!.removeFirst()
            // After shutdown began or while revoking, nothing new starts.
            if !partition.revoking, intakeOpen { ready.append(next) }
        }
    }

    /// Must hold the lock.
    private func reportCommittable(_ partition: Partition, id: PartitionID) {
        guard let committable = partition.tracker.committable, partition.lastReported != committable else { return }
        partition.lastReported = committable
        actions.stores[id] = committable
    }

    /// Must hold the lock.
    private func updatePause(_ partition: Partition, id: PartitionID) {
        let limit = configuration.maxBufferedPerPartition
        let spanLimit = configuration.maxUncommittedPerPartition
        let stalled = !partition.stalledJobs.isEmpty
        if !partition.heldForShare, sharesHeld, partition.buffered > reservedShare {
            partition.heldForShare = true
        } else if partition.heldForShare, partition.buffered <= reservedShare / 2 || sharedFreeIsAmple {
            partition.heldForShare = false
        }
        let full =
            partition.buffered >= limit || partition.uncommittedSpan >= spanLimit || totalHeld || partition.heldForShare
        let drained =
            partition.buffered <= limit / 2 && partition.uncommittedSpan <= spanLimit / 2 && !totalHeld
            && !partition.heldForShare
        if !partition.paused, full || stalled {
            partition.paused = true
            pausedCount += 1
            actions.pause.insert(id)
            actions.resume.remove(id)
        } else if partition.paused, drained, !stalled {
            partition.paused = false
            pausedCount -= 1
            actions.resume.insert(id)
            actions.pause.remove(id)
        }
    }

    /// Must hold the lock. Changes a partition's count of accepted, unfinished events (and the
    /// totals that follow from it).
    private func addBuffered(_ delta: Int, to partition: Partition) {
        let overBefore = max(0, partition.buffered - reservedShare)
        partition.buffered += delta
        bufferedTotal += delta
        sharedInUse += max(0, partition.buffered - reservedShare) - overBefore
        if sharedInUse >= sharedPool {
            if sharedFullSince == nil { sharedFullSince = .now }
        } else {
            sharedFullSince = nil
        }
    }

    /// Must hold the lock. Pauses the partitions past their share once the shared part stayed
    /// used up for ``DispatchConfiguration/totalHoldAfter`` (see ``reservedShare``).
    private func holdSharesIfStuck(now: ContinuousClock.Instant) {
        guard reservedShare > 0, !sharesHeld, let since = sharedFullSince, now - since >= configuration.totalHoldAfter else { return }
        sharesHeld = true
        for (id, partition) in partitions where partition.buffered > reservedShare { updatePause(partition, id: id) }
        refreshPausedGauge()
    }

    /// Must hold the lock. Whether a quarter of the shared part is free: partitions held for
    /// their share go on then, even when still past it.
    private var sharedFreeIsAmple: Bool { sharedPool - sharedInUse >= max(1, sharedPool / 4) }

    /// Must hold the lock. The shares follow the number of assigned partitions.
    private func recomputeShares() {
        // A total too small to give every partition a share of at least one keeps none.
        let total = configuration.maxBufferedTotal
        reservedShare = total >= 2 * partitions.count ? total / (2 * max(1, partitions.count)) : 0
        sharedPool = total - partitions.count * reservedShare
        sharedInUse = partitions.values.reduce(0) { $0 + max(0, $1.buffered - reservedShare) }
        sharedFullSince = sharedInUse >= sharedPool ? (sharedFullSince ?? .now) : nil
        if sharesHeld, sharedFreeIsAmple { sharesHeld = false }
        for (id, partition) in partitions { updatePause(partition, id: id) }
        refreshPausedGauge()
    }

    /// Must hold the lock. Lets partitions held for their share go on once the shared part has
    /// room again (their own completions may never come: they can be the stuck ones).
    private func releaseShareHoldsIfRoom() {
        guard sharesHeld, sharedFreeIsAmple else { return }
        sharesHeld = false
        for (id, partition) in partitions where partition.heldForShare { updatePause(partition, id: id) }
    }

    /// Must hold the lock. Notes since when the total is full, and lets the partitions held for
    /// it go once half of it is free.
    private func refreshTotalHold() {
        let limit = configuration.maxBufferedTotal
        if bufferedTotal >= limit {
            if fullSince == nil { fullSince = .now }
        } else {
            fullSince = nil
        }
        guard totalHeld, bufferedTotal <= limit / 2 else { return }
        totalHeld = false
        for (id, partition) in partitions { updatePause(partition, id: id) }
    }

    /// Must hold the lock. Pauses every partition once the total stayed full for
    /// ``DispatchConfiguration/totalHoldAfter``.
    private func holdIfStuck(now: ContinuousClock.Instant) {
        guard !totalHeld, let since = fullSince, now - since >= configuration.totalHoldAfter else { return }
        totalHeld = true
        for (id, partition) in partitions { updatePause(partition, id: id) }
        refreshPausedGauge()
    }

    /// Whether every partition is paused because the total stayed full (see
    /// ``waitForRoom(timeout:)``): a poll then hands over no record.
    package var holdsForTotal: Bool {
        condition.lock()
        defer { condition.unlock() }
        return totalHeld
    }

    /// Must hold the lock. Records the gauge only when the count changed.
    private func refreshPausedGauge() {
        guard pausedCount != reportedPausedCount else { return }
        reportedPausedCount = pausedCount
        metrics.partitionsPaused.record(pausedCount)
    }

    // MARK: - Watching

    /// Updates each partition's oldest-unfinished-event age gauge and logs, once per event, an
    /// event unfinished for longer than ``DispatchConfiguration/stuckEventWarning``. The poll loop
    /// calls it about once a second.
    package func inspect(now: ContinuousClock.Instant = .now) {
        condition.lock()
        defer { condition.unlock() }
        for (id, partition) in partitions {
            guard let oldest = partition.tracker.oldestUnfinished else {
                partition.oldestAge.record(0)
                continue
            }
            let age = now - oldest.since
            partition.oldestAge.record(age.seconds)
            if age >= configuration.stuckEventWarning, partition.warnedStuckOffset != oldest.offset {
                partition.warnedStuckOffset = oldest.offset
                logger.warning(
                    "event unfinished for longer than the warning threshold; its partition cannot commit past it",
                    metadata: [
                        "partition": "\(id)", "offset": "\(oldest.offset)", "age_s": "\(Int(age.seconds))",
                        "uncommitted": "\(partition.uncommittedSpan)", "paused": "\(partition.paused)",
                    ])
            }
        }
    }

    // MARK: - Shutdown

    /// Stops taking records and starting work (queued work and work waiting behind a key stay
    /// unstarted); waits up to `grace` for running work, cancels what is left (it stays
    /// uncommitted) and returns every partition's committable offset.
    package func drain(grace: Duration) -> [PartitionID: Int64] {
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
                logger.warning(
                    "abandoning unfinished work at shutdown", metadata: ["partition": "\(id)", "in_flight": "\(partition.inFlight)"])
                for job in partition.running.values { job.task?.cancel() }
            }
        }
        if inFlight > 0 { cancelledAll = true }
        return result
    }

    // MARK: - Introspection

    /// Events being applied right now, including cancelled work of dropped partitions that has
    /// not ended yet.
    package var inFlightCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return inFlight
    }

    /// Assigned partitions, and whether each is paused.
    package var assignedPartitions: [PartitionID: Bool] {
        condition.lock()
        defer { condition.unlock() }
        return partitions.mapValues(\.paused)
    }

    /// Records ignored because their offset had already been taken in this assignment.
    package var ignoredRedeliveries: Int {
        condition.lock()
        defer { condition.unlock() }
        return duplicateCount
    }
}
