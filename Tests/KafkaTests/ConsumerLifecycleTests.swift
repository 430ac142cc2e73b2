import Foundation
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing

/// The consumer's calls on its polling thread under faults: none waits without a bound, and
/// close serves the final revoke (and leaves the group) whatever wakes the consumer meanwhile.
@Suite(.serialized) struct ConsumerLifecycleTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// librdkafka 2.0.2's watermark query ignores its timeout once its request is sent: with the
    /// leader down it waited for the socket timeout. Waking the fetchers of resumed partitions must
    /// return at once and still send its wake-up round.
    @Test func wakingFetchersWithTheBrokerDownDoesNotBlockThePollingThread() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("down", partitions: 1)
        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers]), logger: logger)
        for index in 0..<5 { try await producer.send(topic: "down", key: Array("k\(index)".utf8), value: [1], partition: 0) }
        producer.shutdown()
        let consumer = try KafkaConsumer(
            properties: KafkaProperties([
                "bootstrap.servers": cluster.bootstrapServers, "group.id": "down1", "enable.auto.commit": "false",
                "socket.timeout.ms": "30000",
            ]),
            logger: logger)
        let tp = TopicPartition(topic: "down", partition: 0)
        try consumer.assign([TopicPartitionOffset(tp, offset: 0)])
        var read = 0
        let readBy = ContinuousClock.now + .seconds(15)
        while read < 5, ContinuousClock.now < readBy { read += try consumer.poll(maxMessages: 5, timeoutMs: 100) { _ in true } }
        #expect(read == 5)
        cluster.setBrokerDown()
        try consumer.pause([tp])
        try consumer.resume([tp])
        // The call runs on a thread of its own so that a blocked call fails the test instead of
        // hanging it (with the broker down, librdkafka 2.0.2's watermark query never returned).
        let returned = Atomic<Bool>(false)
        let caller = Thread {
            consumer.wakeFetchers([tp])
            returned.store(true, ordering: .releasing)
        }
        caller.start()
        // A bound far below the 30 s socket timeout, not a speed figure.
        let quick = await eventually(timeout: .seconds(5), every: .milliseconds(10)) { returned.load(ordering: .acquiring) }
        #expect(quick, "waking the fetchers held the polling thread for more than 5 s with the broker down")
        let woke = await eventually(timeout: .seconds(10)) { consumer.fetcherWakeRounds > 0 }
        #expect(woke, "the wake-up round was still sent")
        cluster.setBrokerUp()
        _ = await eventually(timeout: .seconds(90)) { returned.load(ordering: .acquiring) }
    }

    /// Two members; one closes while something keeps waking its consumer queue (the engine does when
    /// work ends). Close still serves the final revoke and sends LeaveGroup: the other member
    /// holds every partition sooner than the session timeout (6 s) after the close returned.
    @Test func closeServesTheFinalRevokeAndLeavesWhileWokenMeanwhile() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("leave", partitions: 4)
        let properties = KafkaProperties([
            "bootstrap.servers": cluster.bootstrapServers, "group.id": "leave1", "enable.auto.commit": "false",
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "300",
        ])
        let eventsA = Mutex<[RebalanceEvent]>([])
        let eventsB = Mutex<[(ContinuousClock.Instant, RebalanceEvent)]>([])
        // Set once the test closes `a`: its final revoke then wakes it from inside the handler, as
        // the engine does when work ends during a revoke. That wake-up lands on close's own queue
        // (librdkafka forwards the consumer queue there), every time, not only in a short window.
        let closingA = Mutex<KafkaConsumer?>(nil)
        let a = try KafkaConsumer(
            properties: properties, logger: logger,
            rebalanceHandler: { event in
                eventsA.withLock { $0.append(event) }
                if case .revoke = event { closingA.withLock { $0 }?.wakeup() }
            })
        let b = try KafkaConsumer(
            properties: properties, logger: logger, rebalanceHandler: { event in eventsB.withLock { $0.append((.now, event)) } })
        try a.subscribe(topics: ["leave"])
        try b.subscribe(topics: ["leave"])
        func assigned(_ events: [RebalanceEvent]) -> Set<Int32> {
            var held: Set<Int32> = []
            for event in events {
                switch event {
                case .assign(let list): held = Set(list.map(\.partition))
                case .revoke, .lost: held = []
                }
            }
            return held
        }
        let joinBy = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < joinBy {
            _ = try a.poll(timeoutMs: 50)
            _ = try b.poll(timeoutMs: 50)
            let heldA = assigned(eventsA.withLock { $0 })
            let heldB = assigned(eventsB.withLock { $0.map(\.1) })
            if !heldA.isEmpty, !heldB.isEmpty, heldA.union(heldB).count == 4 { break }
        }
        #expect(!assigned(eventsA.withLock { $0 }).isEmpty, "both members joined")

        let stop = Atomic<Bool>(false)
        let bThread = Thread {
            while !stop.load(ordering: .acquiring) { _ = try? b.poll(timeoutMs: 50) }
        }
        bThread.start()
        let waker = Thread {
            // As often as possible: the window that matters (close started, revoke not yet
            // posted) is short.
            while !stop.load(ordering: .acquiring) { a.wakeup() }
        }
        waker.start()
        let revokesBefore = eventsA.withLock { $0.filter { if case .revoke = $0 { true } else { false } }.count }
        closingA.withLock { $0 = a }
        var closeError: KafkaError?
        do { try a.close() } catch { closeError = error }
        closingA.withLock { $0 = nil }
        #expect(closeError == nil, "close returned \(String(describing: closeError))")
        let closedAt = ContinuousClock.now
        let revokesAfter = eventsA.withLock { $0.filter { if case .revoke = $0 { true } else { false } }.count }
        #expect(revokesAfter > revokesBefore, "close served the final revoke")
        let takenOver = await eventually(timeout: .seconds(20), every: .milliseconds(50)) {
            assigned(eventsB.withLock { $0.map(\.1) }) == [0, 1, 2, 3]
        }
        stop.store(true, ordering: .releasing)
        #expect(takenOver, "the other member got every partition")
        let at = eventsB.withLock { rows in rows.last { if case .assign(let list) = $0.1 { list.count == 4 } else { false } }?.0 }
        if let at {
            #expect(at - closedAt < .seconds(6), "the other member waited \(at - closedAt) after the close")
            print("FIGURE close_leave.seconds_to_takeover: \((at - closedAt).components.seconds)")
        }
        try? b.close()
        // Kept alive on purpose: after a close that did not serve its revoke, destroying the
        // handle waits for the group forever (librdkafka 2.0.2).
        _ = Unmanaged.passRetained(a)
    }

    /// A revoke pending when close begins (the group rebalanced while this member did not poll,
    /// as while it drains on SIGTERM) is served by close only after librdkafka 2.0.2 cleared the
    /// assignment, committed, left the group and ended it by itself. A commit from that revoke's
    /// handler then reached the ended group and aborted the process (`rdkafka_cgrp.c:2583`). Once
    /// close began, commits are refused instead; close returns and the member leaves.
    @Test func aCommitFromAStaleRevokeDuringCloseIsRefusedNotFatal() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("stale", partitions: 2)
        let properties = KafkaProperties([
            "bootstrap.servers": cluster.bootstrapServers, "group.id": "stale1", "enable.auto.commit": "true",
            "enable.auto.offset.store": "false", "session.timeout.ms": "6000", "heartbeat.interval.ms": "300",
        ])
        let assignedA = Mutex<[TopicPartition]>([])
        let closingA = Mutex<KafkaConsumer?>(nil)
        /// "committed", or the commit's error message; `nil` while the handler did not run.
        let commitResult = Mutex<String?>(nil)
        let a = try KafkaConsumer(
            properties: properties, logger: logger,
            rebalanceHandler: { event in
                switch event {
                case .assign(let list): assignedA.withLock { $0 = list }
                case .revoke(let list):
                    // As the service's handler did: finish in-flight work, then commit.
                    guard let consumer = closingA.withLock({ $0 }) else { return }
                    Thread.sleep(forTimeInterval: 0.5)
                    let offsets = list.map { TopicPartitionOffset($0, offset: 0) }
                    let outcome: String
                    do {
                        try consumer.commit(offsets, timeout: .seconds(1))
                        outcome = "committed"
                    } catch {
                        outcome = "\(error)"
                    }
                    commitResult.withLock { $0 = outcome }
                case .lost: break
                }
            })
        try a.subscribe(topics: ["stale"])
        let joinBy = ContinuousClock.now + .seconds(30)
        while assignedA.withLock({ $0.isEmpty }), ContinuousClock.now < joinBy { _ = try a.poll(timeoutMs: 50) }
        #expect(!assignedA.withLock { $0.isEmpty }, "a joined")
        // b joins while a does not poll: a's heartbeat learns of the rebalance and librdkafka
        // hands a revoke to a's queue, which nobody serves until close.
        let b = try KafkaConsumer(properties: properties, logger: logger)
        try b.subscribe(topics: ["stale"])
        let stop = Atomic<Bool>(false)
        let bThread = Thread {
            while !stop.load(ordering: .acquiring) { _ = try? b.poll(timeoutMs: 50) }
        }
        bThread.start()
        try await Task.sleep(for: .seconds(2))
        closingA.withLock { $0 = a }
        let closedFlag = Atomic<Bool>(false)
        let closer = Thread {
            if (try? a.close(within: .seconds(20))) == true { closedFlag.store(true, ordering: .releasing) }
        }
        closer.start()
        let closed = await eventually(timeout: .seconds(25)) { closedFlag.load(ordering: .acquiring) }
        stop.store(true, ordering: .releasing)
        #expect(closed, "close returned")
        let result = commitResult.withLock { $0 }
        #expect(result != nil, "close served the stale revoke")
        #expect(result?.contains("the consumer is closing") == true, "the handler's commit during close: \(result ?? "-")")
        try? b.close()
    }

    /// A paused partition with a backlog is not fetched, so waking its fetcher changes nothing:
    /// idle polls must not send wake-up rounds for it (each round is a ListOffsets request).
    @Test func aPausedPartitionWithABacklogSendsNoWakeRounds() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("paused", partitions: 1)
        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers]), logger: logger)
        for index in 0..<50 { try await producer.send(topic: "paused", key: Array("k\(index)".utf8), value: [1], partition: 0) }
        producer.shutdown()
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "group.id": "paused1", "enable.auto.commit": "false"]),
            logger: logger)
        let tp = TopicPartition(topic: "paused", partition: 0)
        try consumer.assign([TopicPartitionOffset(tp, offset: 0)])
        var read = 0
        let readBy = ContinuousClock.now + .seconds(15)
        while read < 1, ContinuousClock.now < readBy { read += try consumer.poll(maxMessages: 1, timeoutMs: 100) { _ in true } }
        #expect(read == 1)
        try consumer.pause([tp])
        let idleUntil = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < idleUntil { _ = try consumer.poll(maxMessages: 16, timeoutMs: 20) { _ in true } }
        #expect(consumer.fetcherWakeRounds == 0, "idle polls sent \(consumer.fetcherWakeRounds) wake rounds for a paused partition")
        try? consumer.close()
    }
}
