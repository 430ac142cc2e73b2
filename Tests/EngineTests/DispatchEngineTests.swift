import Engine
import Foundation
import Logging
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
            let now = active.withLock { $0 += 1; return $0 }
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
