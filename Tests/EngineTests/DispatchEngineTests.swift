import Engine
import Foundation
import Logging
import ServiceRuntime
import Synchronization
import Testing

/// The dispatch engine without Kafka: ordering per key, the in-flight bound, pausing, revocation.
@Suite struct DispatchEngineTests {
    let topic = "t"

    func record(_ partition: Int32, _ offset: Int64, key: String) -> InboundRecord {
        InboundRecord(partition: PartitionID(topic: topic, partition: partition), offset: offset, key: Array(key.utf8), value: nil, headers: nil)
    }

    /// A work function whose calls are released by the test.
    final class Gate: Sendable {
        let started = Mutex<[Int64]>([])
        let active = Mutex<Int>(0)
        let maxActive = Mutex<Int>(0)
        let perKeyOverlap = Mutex<Bool>(false)
        let activeKeys = Mutex<Set<String>>([])
        let delay: Duration

        init(delay: Duration) { self.delay = delay }

        func run(_ record: InboundRecord) async -> EventResult {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            let overlap = activeKeys.withLock { !$0.insert(key).inserted }
            if overlap { perKeyOverlap.withLock { $0 = true } }
            started.withLock { $0.append(record.offset) }
            let now = active.withLock {
                $0 += 1; return $0
            }
            maxActive.withLock { $0 = max($0, now) }
            try? await Task.sleep(for: delay)
            active.withLock { $0 -= 1 }
            activeKeys.withLock { _ = $0.remove(key) }
            return Task.isCancelled ? .abandoned : .erased
        }
    }

    @Test func ordersWithinAKeyBoundsInFlightAndCommitsContiguously() async throws {
        let gate = Gate(delay: .milliseconds(20))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 8), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        let partition = PartitionID(topic: topic, partition: 0)
        engine.assign([partition])
        for offset in 0..<100 { engine.accept(record(0, Int64(offset), key: "user\(offset % 10)")) }
        var stored: Int64 = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while stored < 100, ContinuousClock.now < deadline {
            if let offset = engine.takeActions().stores[partition] {
                #expect(offset > stored)
                stored = offset
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(stored == 100)
        #expect(gate.maxActive.withLock { $0 } <= 8)
        #expect(gate.perKeyOverlap.withLock { $0 } == false)
        // Per key, offsets started in order.
        let started = gate.started.withLock { $0 }
        for key in 0..<10 {
            let ofKey = started.filter { $0 % 10 == Int64(key) }
            #expect(ofKey == ofKey.sorted())
        }
    }

    @Test func pausesAFullPartitionAndResumesWhenDrained() async throws {
        let gate = Gate(delay: .milliseconds(50))
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(maxInFlight: 2, maxBufferedPerPartition: 4), metrics: EngineMetrics(),
            logger: Logger(label: "t")
        ) { await gate.run($0) }
        let partition = PartitionID(topic: topic, partition: 3)
        engine.assign([partition])
        for offset in 0..<4 { engine.accept(record(3, Int64(offset), key: "k\(offset)")) }
        #expect(engine.takeActions().pause == [partition])
        let resumed = await eventuallyTrue(timeout: .seconds(5)) { engine.takeActions().resume.contains(partition) }
        #expect(resumed)
    }

    /// An engine whose total `max_buffered` binds before any partition's own limit (100), and
    /// whose hold delay is short.
    func totalLimitedEngine(maxInFlight: Int, maxBufferedTotal: Int, work: @escaping DispatchEngine.Work) -> DispatchEngine {
        DispatchEngine(
            configuration: DispatchConfiguration(
                maxInFlight: maxInFlight, maxBufferedPerPartition: 100, maxBufferedTotal: maxBufferedTotal,
                totalHoldAfter: .milliseconds(100)),
            metrics: EngineMetrics(), logger: Logger(label: "t"), work: work)
    }

    /// `max_buffered` is a real bound. At the total the poll loop reads nothing (it waits for
    /// room); no partition is paused at first (a pause throws librdkafka's read-ahead away). When
    /// the total stays full (work stuck) every partition is paused, so polls hand over nothing,
    /// and they resume once half of it is free.
    @Test func theTotalLimitStopsIntakeThenPausesEveryPartitionWhileItStaysFull() async throws {
        let engine = totalLimitedEngine(maxInFlight: 8, maxBufferedTotal: 4) { record in
            try? await Task.sleep(for: record.partition.partition == 1 ? .milliseconds(10) : .milliseconds(600))
            return .erased
        }
        let p0 = PartitionID(topic: topic, partition: 0)
        let p1 = PartitionID(topic: topic, partition: 1)
        let p2 = PartitionID(topic: topic, partition: 2)
        engine.assign([p0, p1, p2])
        var room = engine.intakeRoom()
        #expect(room.total == 4)
        #expect(room.byPartition == [p0: 100, p1: 100, p2: 100])
        // The poll loop ends its turn at the record that uses the total up.
        #expect(room.take(p0) && room.take(p0) && room.take(p0))
        #expect(room.take(p0) == false)
        let taken = engine.accept([record(0, 0, key: "a"), record(0, 1, key: "b"), record(0, 2, key: "c"), record(0, 3, key: "d")])
        #expect(taken == 4)
        #expect(engine.intakeRoom().total == 0)
        // Full, not yet for long: nothing paused, the poll loop just reads nothing.
        #expect(engine.takeActions().pause.isEmpty)
        #expect(engine.holdsForTotal == false)
        // Still full after the hold delay: every partition is paused, p1 and p2 too.
        #expect(engine.waitForRoom(timeout: .milliseconds(50)) == false)
        try await Task.sleep(for: .milliseconds(100))
        #expect(engine.waitForRoom(timeout: .milliseconds(10)) == false)
        #expect(engine.holdsForTotal)
        #expect(engine.takeActions().pause == [p0, p1, p2])
        #expect(engine.assignedPartitions == [p0: true, p1: true, p2: true])
        // The work ends: the total is free again, every partition resumes.
        try await Task.sleep(for: .milliseconds(800))
        #expect(engine.intakeRoom().total == 4)
        #expect(engine.holdsForTotal == false)
        #expect(engine.takeActions().resume == [p0, p1, p2])
        #expect(engine.assignedPartitions == [p0: false, p1: false, p2: false])
    }

    /// One stuck partition cannot take the room of the partitions still moving (issue 18, item 4):
    /// half of `max_buffered` is reserved in equal shares, the poll loop never hands a partition
    /// past its share more than the shared half has free and stops reading while the shared half
    /// is used up; once it stays used up, the partitions past their share are paused until a
    /// quarter of it is free, and the others read again.
    @Test func aStuckPartitionNeverTakesTheShareOfAMovingOne() async throws {
        let engine = totalLimitedEngine(maxInFlight: 16, maxBufferedTotal: 8) { record in
            // Partition 0's work hangs (until cancelled); partition 1's ends at once.
            if record.partition.partition == 0 { try? await Task.sleep(for: .seconds(60)) }
            return Task.isCancelled ? .abandoned : .erased
        }
        let p0 = PartitionID(topic: topic, partition: 0)
        let p1 = PartitionID(topic: topic, partition: 1)
        // Before any assignment the poll loop must poll (rebalances are served by polls).
        #expect(engine.intakeRoom().isOpen)
        engine.assign([p0, p1])
        // As the poll loop does: records of p0 until the turn ends. p0's share is 2, the shared part 4.
        var room = engine.intakeRoom()
        var stuck: [InboundRecord] = []
        repeat { stuck.append(record(0, Int64(stuck.count), key: "s\(stuck.count)")) } while room.take(p0)
        #expect(stuck.count == 6)
        #expect(engine.accept(stuck) == 6)
        // The shared part is used up: the poll loop reads nothing (librdkafka could hand over
        // more of p0) until the shared part stayed used up past the hold delay; then p0, past its
        // share, is paused and the poll loop reads again.
        #expect(engine.intakeRoom().isOpen == false)
        #expect(engine.waitForRoom(timeout: .milliseconds(20)) == false)
        #expect(engine.takeActions().pause.isEmpty)
        try await Task.sleep(for: .milliseconds(120))
        #expect(engine.waitForRoom(timeout: .milliseconds(10)))
        #expect(engine.intakeRoom().isOpen)
        #expect(engine.takeActions().pause == [p0])
        // p1 has its share of 2, however long p0 stays stuck.
        var next: Int64 = 0
        for _ in 0..<10 {
            room = engine.intakeRoom()
            #expect(room.byPartition[p1] == 2)
            #expect(room.total == 2)
            var batch: [InboundRecord] = []
            repeat { batch.append(record(1, next + Int64(batch.count), key: "m\(next + Int64(batch.count))")) } while room.take(p1)
            #expect(batch.count == 2)
            #expect(engine.accept(batch) == 2)
            next += Int64(batch.count)
            let done = await eventuallyTrue(timeout: .seconds(5)) { engine.intakeRoom().byPartition[p1] == 2 }
            #expect(done)
        }
        let actions = engine.takeActions()
        #expect(actions.pause.isEmpty)
        #expect(actions.stores[p1] == next)
        #expect(engine.assignedPartitions == [p0: true, p1: false])
        // p0's work ends (revoked): nothing of its stays held.
        let finals = await onThread { engine.revoke([p0], grace: .milliseconds(10)) }
        #expect(finals[p0] == 0)
        #expect(engine.intakeRoom().byPartition[p1] == 8)
    }

    @Test func revokeWaitsForInFlightWorkThenReturnsTheCommittableOffset() async throws {
        let gate = Gate(delay: .milliseconds(200))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 10), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        let partition = PartitionID(topic: topic, partition: 1)
        engine.assign([partition])
        for offset in 0..<5 { engine.accept(record(1, Int64(offset), key: "same")) }
        try await Task.sleep(for: .milliseconds(50))
        // Only offset 0 is in flight (same key); the rest wait and are not started after revoke.
        let finals = await onThread { engine.revoke([partition], grace: .seconds(2)) }
        #expect(finals[partition] == 1)
        #expect(gate.started.withLock { $0 } == [0])
        #expect(engine.accept(record(1, 5, key: "x")) == false)
    }

    @Test func revokeAfterGraceAbandonsWithoutPassingUnfinishedWork() async throws {
        let gate = Gate(delay: .seconds(30))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 10), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        let partition = PartitionID(topic: topic, partition: 2)
        engine.assign([partition])
        engine.accept(record(2, 7, key: "a"))
        let started = ContinuousClock.now
        let finals = await onThread { engine.revoke([partition], grace: .milliseconds(300)) }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(finals[partition] == 7)
    }

    @Test func drainStopsIntakeAndReportsCommittableOffsets() async throws {
        let gate = Gate(delay: .milliseconds(30))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 100), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        let p0 = PartitionID(topic: topic, partition: 0)
        engine.assign([p0])
        for offset in 0..<20 { engine.accept(record(0, Int64(offset), key: "k\(offset)")) }
        let finals = await onThread { engine.drain(grace: .seconds(5)) }
        #expect(finals[p0] == 20)
        #expect(engine.accept(record(0, 20, key: "z")) == false)
    }

    /// Work released by the test, ignoring cancellation (as a call blocked in a library does).
    final class Latch: Sendable {
        private let waiters = Mutex<[Int64: CheckedContinuation<EventResult, Never>]>([:])
        let started = Mutex<[(offset: Int64, key: String)]>([])
        let running = Mutex<[String: Int]>([:])
        let overlap = Mutex(false)

        func run(_ record: InboundRecord) async -> EventResult {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            started.withLock { $0.append((record.offset, key)) }
            let twice = running.withLock {
                $0[key, default: 0] += 1; return $0[key]! > 1
            }
            if twice { overlap.withLock { $0 = true } }
            let result = await withCheckedContinuation { continuation in
                waiters.withLock { $0[record.offset] = continuation }
            }
            running.withLock { $0[key, default: 1] -= 1 }
            return result
        }

        func release(_ offset: Int64, _ result: EventResult = .erased) {
            let waiter = waiters.withLock { $0.removeValue(forKey: offset) }
            waiter?.resume(returning: result)
        }

        func isWaiting(_ offset: Int64) -> Bool { waiters.withLock { $0[offset] != nil } }
    }

    @Test func orphanedWorkKeepsItsKeyAndSlotUntilItReallyEnds() async throws {
        let latch = Latch()
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 1), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await latch.run($0)
        }
        let p = PartitionID(topic: topic, partition: 0)
        engine.assign([p])
        engine.accept(record(0, 0, key: "a"))
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(0) })
        // The grace expires: the partition is dropped, its task cancelled but still running.
        let finals = await onThread { engine.revoke([p], grace: .milliseconds(100)) }
        #expect(finals[p] == 0)
        #expect(engine.inFlightCount == 1, "the orphaned task still holds its slot")

        // The partition comes back: the same record (same key) and another key are delivered.
        engine.assign([p])
        engine.accept(record(0, 0, key: "a"))
        engine.accept(record(0, 1, key: "b"))
        try await Task.sleep(for: .milliseconds(200))
        #expect(latch.started.withLock { $0.count } == 1, "nothing starts while the orphan holds the only slot and key a")

        // The orphan finishes (erased): its record is settled in the new assignment without a
        // second run, and the slot goes to key b.
        latch.release(0)
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(1) })
        #expect(latch.started.withLock { $0.map(\.offset) } == [0, 1])
        latch.release(1)
        var stored: Int64?
        #expect(
            await eventuallyTrue(timeout: .seconds(5)) {
                if let offset = engine.takeActions().stores[p] { stored = offset }
                return stored == 2
            })
        #expect(latch.overlap.withLock { $0 } == false)
        #expect(engine.inFlightCount == 0)
    }

    @Test func anAbandonedOrphanLetsTheRedeliveredRecordRunAfterIt() async throws {
        let latch = Latch()
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 4), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await latch.run($0)
        }
        let p = PartitionID(topic: topic, partition: 0)
        engine.assign([p])
        engine.accept(record(0, 5, key: "a"))
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(5) })
        engine.lose([p])
        engine.assign([p])
        engine.accept(record(0, 5, key: "a"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(latch.started.withLock { $0.count } == 1, "key a is still held by the lost partition's task")
        latch.release(5, .abandoned)
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.started.withLock { $0.count } == 2 })
        #expect(latch.overlap.withLock { $0 } == false)
        latch.release(5)
        #expect(await eventuallyTrue(timeout: .seconds(5)) { engine.takeActions().stores[p] == 6 })
    }

    @Test func drainStartsNoWorkWaitingBehindAKey() async throws {
        let latch = Latch()
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 10), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await latch.run($0)
        }
        let p = PartitionID(topic: topic, partition: 0)
        engine.assign([p])
        engine.accept(record(0, 0, key: "same"))
        engine.accept(record(0, 1, key: "same"))
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(0) })
        let releaser = Task {
            try await Task.sleep(for: .milliseconds(100))
            latch.release(0)
        }
        let finals = await onThread { engine.drain(grace: .milliseconds(600)) }
        try await releaser.value
        #expect(finals[p] == 1)
        try await Task.sleep(for: .milliseconds(100))
        #expect(latch.started.withLock { $0.map(\.offset) } == [0], "offset 1 waited behind its key and must not start during drain")
    }

    @Test func aStuckEventPausesItsPartitionOnceTheUncommittedSpanIsTooLong() async throws {
        let latch = Latch()
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(maxInFlight: 100, maxBufferedPerPartition: 100, maxUncommittedPerPartition: 20),
            metrics: EngineMetrics(), logger: Logger(label: "t")
        ) { record in
            record.offset == 0 ? await latch.run(record) : .erased
        }
        let p = PartitionID(topic: topic, partition: 0)
        engine.assign([p])
        var paused = false
        for offset in 0..<19 {
            engine.accept(record(0, Int64(offset), key: "k\(offset)"))
        }
        try await Task.sleep(for: .milliseconds(100))
        paused = engine.takeActions().pause.contains(p)
        #expect(!paused, "19 uncommitted offsets are under the bound")
        engine.accept(record(0, 19, key: "k19"))
        #expect(engine.takeActions().pause.contains(p), "20 uncommitted offsets behind one stuck event pause the partition")
        // A release before offset 0 waits would be lost: wait for it to wait.
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(0) })
        latch.release(0)
        #expect(await eventuallyTrue(timeout: .seconds(5)) { engine.takeActions().resume.contains(p) })
    }

    @Test func stallFlagsBelongToTheirOwnJob() async throws {
        let latch = Latch()
        let box = Unchecked<DispatchEngine?>(nil)
        let gates = Mutex<[Int64: Bool]>([:])
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 10), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            record in
            box.value?.setStalled(record.partition, true)
            gates.withLock { $0[record.offset] = true }
            let result = await latch.run(record)
            box.value?.setStalled(record.partition, false)
            return result
        }
        box.value = engine
        let p = PartitionID(topic: topic, partition: 0)
        engine.assign([p])
        engine.accept(record(0, 0, key: "a"))
        engine.accept(record(0, 1, key: "b"))
        #expect(await eventuallyTrue(timeout: .seconds(5)) { latch.isWaiting(0) && latch.isWaiting(1) })
        #expect(engine.takeActions().pause.contains(p))
        // One of two stalled jobs recovers: the partition stays paused.
        latch.release(0)
        try await Task.sleep(for: .milliseconds(100))
        #expect(engine.assignedPartitions[p] == true, "job 1 is still stalled")
        latch.release(1)
        #expect(await eventuallyTrue(timeout: .seconds(5)) { engine.assignedPartitions[p] == false })

        // A stall reported from outside any job of this engine changes nothing.
        engine.setStalled(p, true)
        #expect(engine.assignedPartitions[p] == false)
    }

    /// Records of a partition the engine does not hold (librdkafka's assignment differs from the
    /// engine's) are not processed, and they are counted.
    @Test func recordsOfAPartitionNotHeldAreCountedAndNotProcessed() async throws {
        let gate = Gate(delay: .milliseconds(1))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 8), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        engine.assign([PartitionID(topic: topic, partition: 0)])
        let taken = engine.accept([record(0, 0, key: "a"), record(1, 0, key: "b"), record(1, 1, key: "c")])
        #expect(taken == 1)
        #expect(engine.unheldRecordsSkipped == 2)
    }

    /// The rebalance handler marks revoked partitions first: records of theirs handed over after
    /// that (read in the same poll turn) start no work, so nothing starts here that the next owner
    /// may start too.
    @Test func recordsHandedOverOnceARevokeBeganStartNoWork() async throws {
        let gate = Gate(delay: .milliseconds(1))
        let engine = DispatchEngine(configuration: DispatchConfiguration(maxInFlight: 8), metrics: EngineMetrics(), logger: Logger(label: "t")) {
            await gate.run($0)
        }
        let partition = PartitionID(topic: topic, partition: 0)
        engine.assign([partition])
        engine.beginRevoke([partition])
        #expect(engine.accept([record(0, 0, key: "a"), record(0, 1, key: "b")]) == 0)
        try await Task.sleep(for: .milliseconds(50))
        #expect(gate.started.withLock { $0 }.isEmpty)
        #expect(engine.revoke([partition], grace: .zero).isEmpty)
    }
}

func eventuallyTrue(timeout: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Runs blocking engine calls (revoke, drain) on their own thread, as the poll loop does, so they
/// never block the cooperative pool the work runs on.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
