import Engine
import Foundation
import Logging
import Synchronization
import Testing

/// Work that may finish without waiting (``WorkStart``): started in chunks, finished records
/// settled together, waiting parts in tasks of their own, with the engine's guarantees intact.
/// Serialized: two tests block a thread of the cooperative pool each for a while; side by side on a
/// two-core machine they would hold the whole pool, and the tests waiting on them never run.
@Suite(.serialized) struct DispatchEngineStartTests {
    let p = PartitionID(topic: "t", partition: 0)

    func record(_ offset: Int64, key: String) -> InboundRecord {
        InboundRecord(partition: p, offset: offset, key: Array(key.utf8), value: nil, headers: nil)
    }

    @Test func finishedAndWaitingRecordsCommitInOrderAndKeepKeysSerial() async throws {
        // Every 7th record waits; the rest finish at once. Five keys: a key's next record must not
        // start while its waiting one runs.
        let busyKeys = Mutex<Set<String>>([])
        let overlap = Mutex(false)
        let started = Mutex(0)
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(maxInFlight: 16), metrics: EngineMetrics(), logger: Logger(label: "t")
        ) { record in
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            started.withLock { $0 += 1 }
            if busyKeys.withLock({ $0.contains(key) }) { overlap.withLock { $0 = true } }
            guard record.offset % 7 == 0 else { return .finished(.erased) }
            busyKeys.withLock { _ = $0.insert(key) }
            return .waits {
                try? await Task.sleep(for: .milliseconds(5))
                busyKeys.withLock { _ = $0.remove(key) }
                return .erased
            }
        }
        engine.assign([p])
        let count: Int64 = 500
        var taken = 0
        for offset in 0..<count { taken += engine.accept(CollectionOfOne(record(offset, key: "k\(offset % 5)"))) }
        #expect(taken == Int(count))
        var stored: Int64?
        #expect(
            await eventuallyTrue(timeout: .seconds(10)) {
                if let offset = engine.takeActions().stores[p] { stored = offset }
                return stored == count
            }, "stored \(String(describing: stored))")
        #expect(started.withLock { $0 } == Int(count), "each record started once")
        #expect(overlap.withLock { $0 } == false)
        #expect(engine.inFlightCount == 0)
    }

    @Test func theInFlightBoundCountsARecordWhoseStartIsRunning() async throws {
        // The first start blocks (one thread of the pool, no more: the test needs the others);
        // with max_in_flight 1 no other record may begin meanwhile.
        let begun = Mutex(0)
        let release = Mutex(false)
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(maxInFlight: 1), metrics: EngineMetrics(), logger: Logger(label: "t")
        ) { _ in
            let first = begun.withLock {
                $0 += 1; return $0 == 1
            }
            while first, !release.withLock({ $0 }) { usleep(1000) }
            return .finished(.erased)
        }
        engine.assign([p])
        for offset in 0..<10 { engine.accept(record(Int64(offset), key: "k\(offset)")) }
        #expect(await eventuallyTrue(timeout: .seconds(5)) { begun.withLock { $0 } == 1 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(begun.withLock { $0 } == 1)
        #expect(engine.inFlightCount == 1)
        release.withLock { $0 = true }
        #expect(await eventuallyTrue(timeout: .seconds(5)) { engine.takeActions().stores[p] == 10 })
        #expect(begun.withLock { $0 } == 10)
    }

    @Test func aWaitingPartBegunAfterItsPartitionWasLostIsCancelledAndKeepsItsKey() async throws {
        let inStart = Mutex(false)
        let release = Mutex(false)
        let sawCancelled = Mutex<Bool?>(nil)
        let starts = Mutex(0)
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(maxInFlight: 4), metrics: EngineMetrics(), logger: Logger(label: "t")
        ) { _ in
            let first = starts.withLock {
                $0 += 1; return $0 == 1
            }
            guard first else { return .finished(.erased) }
            inStart.withLock { $0 = true }
            while !release.withLock({ $0 }) { usleep(1000) }
            return .waits {
                try? await Task.sleep(for: .milliseconds(50))
                sawCancelled.withLock { $0 = Task.isCancelled }
                return Task.isCancelled ? .abandoned : .erased
            }
        }
        engine.assign([p])
        engine.accept(record(0, key: "a"))
        #expect(await eventuallyTrue(timeout: .seconds(5)) { inStart.withLock { $0 } })
        // The partition is lost while the record's start runs, and assigned back at once with the
        // same record redelivered: it must wait for the orphan to end, not run beside it.
        engine.lose([p])
        engine.assign([p])
        engine.accept(record(0, key: "a"))
        release.withLock { $0 = true }
        #expect(await eventuallyTrue(timeout: .seconds(5)) { sawCancelled.withLock { $0 } != nil })
        #expect(sawCancelled.withLock { $0 } == true, "the orphan's waiting part runs cancelled")
        #expect(await eventuallyTrue(timeout: .seconds(5)) { engine.takeActions().stores[p] == 1 })
        #expect(starts.withLock { $0 } == 2, "the redelivered record ran once, after the orphan ended")
        #expect(engine.inFlightCount == 0)
    }
}
