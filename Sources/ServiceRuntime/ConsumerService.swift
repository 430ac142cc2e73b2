import Engine
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The consumer-group member: one thread owns the librdkafka consumer, hands records to the
/// ``DispatchEngine``, applies its offset stores, pauses and resumes, and serves rebalances.
/// On graceful shutdown it stops intake, drains within the grace period, commits and leaves the group.
///
/// `@unchecked Sendable`: the one mutable property, `pending`, is touched only by the polling
/// thread (the poll loop and the rebalance handler it runs; during close, the close helper thread
/// while the polling thread waits for it); the rest is immutable, `Atomic` or `Mutex`.
package final class ConsumerService: Service, @unchecked Sendable {
    package let configuration: ServiceConfiguration
    package let engine: DispatchEngine
    let health: HealthState
    let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let statistics = StatisticsReporter()
    private let rebalances: [String: Counter]
    private let commits: [String: Counter]
    /// Offsets this member finished before a revoke whose commit may have failed (the group was
    /// rebalancing). If a partition comes back, work resumes there instead of redoing it.
    private let finishedBeforeRevoke = Mutex<[TopicPartition: Int64]>([:])
    /// Start offsets chosen by ``resumeOffsets`` that must also be stored, or the group's committed
    /// offset would stay behind when no new record arrives on the partition.
    private let resumedStarts = Mutex<[TopicPartition: Int64]>([:])

    /// Asked every poll turn: a fatal error of the dead-letter producer stops the service.
    private let producerFailure: @Sendable () -> KafkaError?
    /// When the stop must be over (set when the stop begins; see ``stopBudget``).
    private let stopDeadlineValue = Mutex<ContinuousClock.Instant?>(nil)
    /// Told once, when the stop begins, the instant by which the process must have exited.
    private let onStop: @Sendable (ContinuousClock.Instant) -> Void

    package init(
        configuration: ServiceConfiguration, engine: DispatchEngine, health: HealthState, logger: Logger,
        producerFailure: @escaping @Sendable () -> KafkaError? = { nil },
        onStop: @escaping @Sendable (ContinuousClock.Instant) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.engine = engine
        self.health = health
        self.logger = logger
        self.producerFailure = producerFailure
        self.onStop = onStop
        rebalances = Dictionary(
            uniqueKeysWithValues: ["assign", "revoke", "lost"].map {
                ($0, Counter(label: "retirement_rebalances_total", dimensions: [("kind", $0)]))
            })
        commits = Dictionary(
            uniqueKeysWithValues: ["ok", "failed"].map {
                ($0, Counter(label: "retirement_commits_total", dimensions: [("result", $0)]))
            })
    }

    /// Asks the poll loop to stop (as SIGTERM does); the stop budget starts now.
    package func requestStop() {
        beginStop()
        stopRequested.store(true, ordering: .releasing)
    }

    /// The whole stop, from SIGTERM (or a fatal error) to the process's exit: the drain
    /// (`shutdown_grace`), the commit (`commit_timeout`), leaving the group, then up to 2 s for
    /// queued receipts and 5 s for the producer; 7 s in all past the two settings. Leaving the
    /// group and the flushes share those 7 s.
    package var stopBudget: Duration {
        configuration.processing.shutdownGrace + configuration.processing.commitTimeout + .seconds(7)
    }

    /// When the process must have exited, once the stop began.
    package var stopDeadline: ContinuousClock.Instant? { stopDeadlineValue.withLock { $0 } }

    /// Starts the stop budget (once) and tells `onStop`.
    private func beginStop() {
        let started: ContinuousClock.Instant? = stopDeadlineValue.withLock { deadline in
            guard deadline == nil else { return nil }
            deadline = .now + stopBudget
            return deadline
        }
        if let started { onStop(started) }
    }

    /// Time left until `reserve` before the stop deadline (never negative).
    private func stopTimeLeft(keeping reserve: Duration = .zero) -> Duration {
        guard let deadline = stopDeadline else { return stopBudget }
        return max(.zero, deadline - reserve - .now)
    }

    /// What the close keeps of the stop budget for the receipts' and the producer's flush.
    static let flushReserve = Duration.seconds(3)

    package func run() async throws {
        let box = Unchecked<KafkaConsumer?>(nil)
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(configuration.consumerProperties()), logger: logger,
            rebalanceHandler: { [self] event in self.handleRebalance(event, consumer: box.value) },
            statisticsHandler: { [statistics] json in statistics.report(json) },
            commitHandler: { [self] error, offsets in self.commitFinished(error, offsets) },
            startOffsets: { [self] partitions in self.resumeOffsets(partitions, consumer: box.value) })
        box.value = consumer
        engine.setWakeup { consumer.wakeup() }
        defer { engine.setWakeup(nil) }
        try consumer.subscribe(topics: [configuration.kafka.topic])
        logger.info(
            "subscribed",
            metadata: [
                "topic": "\(configuration.kafka.topic)", "group_id": "\(configuration.kafka.groupID)",
                "assignment_strategy": "\(configuration.kafka.assignmentStrategy)",
            ])
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    KafkaThread.start(name: "kafka-consumer-poll") { [self] _ in
                        do {
                            try self.pollLoop(consumer)
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                }
            } onCancel: {
                self.requestStop()
            }
        } onGracefulShutdown: {
            self.requestStop()
        }
    }

    private func pollLoop(_ consumer: KafkaConsumer) throws {
        var fatal: KafkaError?
        var lastInspection = ContinuousClock.now
        while !stopRequested.load(ordering: .acquiring) {
            applyEngineActions(consumer)
            health.pollTicked()
            if ContinuousClock.now - lastInspection >= .seconds(1) {
                lastInspection = .now
                engine.inspect()
            }
            if let error = producerFailure() {
                // Every dead-letter write would fail from now on and its partitions would stall:
                // stop, so the orchestrator starts a fresh process with a fresh producer.
                logger.critical(
                    "fatal error of the dead-letter producer; draining and exiting", metadata: ["error": "\(error)"])
                health.setFailed("dead-letter producer: \(error.message)")
                fatal = error
                break
            }
            do {
                var room = engine.intakeRoom()
                if !room.isOpen {
                    // processing.max_buffered reached, or its shared half while every partition
                    // past its share may still hand over records: read nothing more until work
                    // ends. A poll would hand over a record the engine must take (librdkafka moved
                    // past it), so there is none until the engine pauses the partitions past their
                    // share, or every partition when the total stays full (work is stuck); polls
                    // then serve callbacks only, or records of partitions within their share.
                    engine.waitForRoom(timeout: .milliseconds(100))
                    room = engine.intakeRoom()
                    if !room.isOpen, !engine.holdsForTotal { continue }
                }
                try consumer.poll(maxMessages: ConsumerService.intakeBatch, timeoutMs: room.isOpen ? 100 : 0) { message in
                    let record = InboundRecord(message)
                    self.pending.append(record)
                    return room.take(record.partition)
                }
                handOverPending()
            } catch {
                logger.critical("fatal Kafka error; stopping", metadata: ["error": "\(error)"])
                health.setFailed("consumer: \(error.message)")
                fatal = error
                break
            }
        }
        shutDown(consumer)
        if let fatal { throw fatal }
    }

    /// Stop intake, drain within the grace period, store and commit what is done, leave the group;
    /// every step within what is left of the stop budget (see ``stopBudget``).
    private func shutDown(_ consumer: KafkaConsumer) {
        beginStop()
        health.setStopping()
        let grace = min(configuration.processing.shutdownGrace, stopTimeLeft())
        logger.info(
            "shutting down: draining in-flight work",
            metadata: [
                "in_flight": "\(engine.inFlightCount)", "grace_s": "\(grace.seconds)",
            ])
        let finals = engine.drain(grace: grace)
        applyEngineActions(consumer)
        let shutdown = CommitPolicy.rule(for: .shutdown, commitTimeout: min(configuration.processing.commitTimeout, stopTimeLeft()))
        apply(shutdown, to: CommitPolicy.offsets(finals), consumer)
        // Work that still ends must not wake the consumer during close (see KafkaConsumer.wakeup).
        engine.setWakeup(nil)
        let closeLimit = max(stopTimeLeft(keeping: ConsumerService.flushReserve), .seconds(1))
        do {
            if try consumer.close(within: closeLimit) {
                logger.info("left the consumer group")
            } else {
                logger.error(
                    "could not leave the consumer group within the stop budget; exiting without it (the group reassigns this member's partitions after its session timeout)",
                    metadata: ["waited_s": "\(closeLimit.seconds)"])
            }
        } catch {
            logger.error("closing the consumer failed", metadata: ["error": "\(error)"])
        }
    }

    private func applyEngineActions(_ consumer: KafkaConsumer) {
        let actions = engine.takeActions()
        guard !actions.isEmpty else { return }
        if !actions.stores.isEmpty {
            let rule = CommitPolicy.rule(for: .workFinished, commitTimeout: configuration.processing.commitTimeout)
            apply(rule, to: CommitPolicy.offsets(actions.stores), consumer)
        }
        if !actions.pause.isEmpty {
            do { try consumer.pause(actions.pause.map { TopicPartition(topic: $0.topic, partition: $0.partition) }) } catch {
                logger.warning("pause failed", metadata: ["error": "\(error)"])
            }
            logger.debug("paused partitions", metadata: ["partitions": "\(actions.pause.map(\.description).sorted())"])
        }
        if !actions.resume.isEmpty {
            let resumed = actions.resume.map { TopicPartition(topic: $0.topic, partition: $0.partition) }
            do {
                try consumer.resume(resumed)
                consumer.wakeFetchers(resumed)
            } catch {
                logger.debug("resume failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Records one poll turn read, not yet handed to the engine. Only the poll thread touches it.
    private var pending: [InboundRecord] = []
    /// The most records one poll turn reads before handing them to the engine under one lock.
    static let intakeBatch = 512

    /// Hands the records read so far to the engine, in order.
    private func handOverPending() {
        guard !pending.isEmpty else { return }
        engine.accept(pending)
        pending.removeAll(keepingCapacity: true)
    }

    private func handleRebalance(_ event: RebalanceEvent, consumer: KafkaConsumer?) {
        // Partitions being revoked stop taking records and starting work first: records of theirs
        // read in this poll turn are not started here (the next owner gets them), so no event
        // starts on this member after another may own its partition.
        if case .revoke(let partitions) = event {
            engine.beginRevoke(partitions.map { PartitionID(topic: $0.topic, partition: $0.partition) })
        }
        // Records read before this rebalance in the same poll turn go to the engine first, under
        // the assignment they were read in (those of partitions being revoked are not taken; a
        // later assign never sees them).
        handOverPending()
        switch event {
        case .assign(let partitions):
            rebalances["assign"]?.increment()
            engine.assign(partitions.map { PartitionID(topic: $0.topic, partition: $0.partition) })
            health.setMember(true)
            let resumed = resumedStarts.withLock { starts in
                defer { starts.removeAll() }
                return starts
            }
            if let consumer, !resumed.isEmpty {
                do { try consumer.storeOffsets(resumed.map { TopicPartitionOffset($0.key, offset: $0.value) }) } catch {
                    logger.debug("offset store skipped", metadata: ["error": "\(error)"])
                }
            }
            logger.info(
                "partitions assigned",
                metadata: [
                    "partitions": "\(partitions.map(\.partition).sorted())", "protocol": "\(consumer?.rebalanceProtocol ?? "?")",
                ])
        case .revoke(let partitions):
            rebalances["revoke"]?.increment()
            guard let consumer else { return }
            applyEngineActions(consumer)
            let stopping = stopDeadline != nil
            let grace = stopping ? min(.seconds(1), stopTimeLeft(keeping: ConsumerService.flushReserve)) : configuration.processing.revokeGrace
            let finals = engine.revoke(partitions.map { PartitionID(topic: $0.topic, partition: $0.partition) }, grace: grace)
            let offsets = CommitPolicy.offsets(finals)
            // While stopping, this is the final revoke, served by close (see CommitPolicy).
            apply(CommitPolicy.rule(for: stopping ? .revokeInClose : .revoke, commitTimeout: configuration.processing.commitTimeout), to: offsets, consumer)
            finishedBeforeRevoke.withLock { remembered in
                for item in offsets { remembered[item.topicPartition] = item.offset }
            }
            logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map(\.partition).sorted())"])
        case .lost(let partitions):
            rebalances["lost"]?.increment()
            engine.lose(partitions.map { PartitionID(topic: $0.topic, partition: $0.partition) })
            logger.warning(
                "partitions lost; their unfinished work is left to the new owner",
                metadata: [
                    "partitions": "\(partitions.map(\.partition).sorted())"
                ])
        }
    }

    /// Start offsets for partitions assigned back to this member: the later of the group's committed
    /// offset and what this member had finished before the revoke. Everything below either was erased.
    private func resumeOffsets(_ partitions: [TopicPartition], consumer: KafkaConsumer?) -> [TopicPartition: Int64] {
        let remembered = finishedBeforeRevoke.withLock { map in
            var taken: [TopicPartition: Int64] = [:]
            for partition in partitions { taken[partition] = map.removeValue(forKey: partition) }
            return taken
        }
        guard !remembered.isEmpty, let consumer else { return [:] }
        guard let committed = try? consumer.committed(Array(remembered.keys), timeoutMs: 5000) else { return [:] }
        var starts: [TopicPartition: Int64] = [:]
        for row in committed {
            guard let finished = remembered[row.topicPartition], finished > row.offset else { continue }
            starts[row.topicPartition] = finished
        }
        resumedStarts.withLock { $0.merge(starts) { _, new in new } }
        if !starts.isEmpty {
            logger.info(
                "resuming returned partitions after work finished before the revoke",
                metadata: [
                    "partitions": "\(starts.keys.map(\.partition).sorted())"
                ])
        }
        return starts
    }

    /// Stores and commits `offsets` as `rule` says (see ``CommitPolicy``). Every commit waits at
    /// most the rule's limit: the poll thread never waits longer (liveness and the pod's
    /// termination limit depend on it). A commit that still fails is logged; the offsets stay
    /// stored, and librdkafka's own commit of stored offsets (or the next owner's redelivery)
    /// takes it from there.
    private func apply(_ rule: CommitRule, to offsets: [TopicPartitionOffset], _ consumer: KafkaConsumer) {
        guard !offsets.isEmpty else { return }
        if rule.store {
            do { try consumer.storeOffsets(offsets) } catch {
                logger.debug("offset store skipped", metadata: ["error": "\(error)"])
            }
        }
        let limit: Duration
        let pause: Duration?
        switch rule.commit {
        case .none: return
        case .once(let within): (limit, pause) = (within, nil)
        case .retried(let within, let every): (limit, pause) = (within, every)
        }
        let deadline = ContinuousClock.now + limit
        while true {
            let remaining = deadline - ContinuousClock.now
            do {
                try consumer.commit(offsets, timeout: max(remaining, .milliseconds(1)))
                commits["ok"]?.increment()
                return
            } catch {
                guard let pause, CommitPolicy.retries(after: error), ContinuousClock.now + pause < deadline else {
                    commits["failed"]?.increment()
                    logger.warning("offset commit failed", metadata: ["error": "\(error)"])
                    return
                }
                Thread.sleep(forTimeInterval: pause.seconds)
            }
        }
    }

    private func commitFinished(_ error: KafkaError?, _ offsets: [TopicPartitionOffset]) {
        if let error {
            commits["failed"]?.increment()
            logger.warning("offset commit failed; it is retried with the next commit", metadata: ["error": "\(error)"])
        } else {
            commits["ok"]?.increment()
        }
    }
}
