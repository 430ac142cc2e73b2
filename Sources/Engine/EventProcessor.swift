import Logging
import RetirementEvent

/// Applies one record: decode, erase at every destination with retries, dead-letter what is owed.
package struct EventProcessor: Sendable {
    package var destinations: [any ErasureApplier]
    package var decoder: RetirementEventDecoder
    package var deadLetters: any DeadLetterSink
    package var retry: RetryPolicy
    /// How often a destination in configuration error is tried again for a waiting event.
    package var configurationErrorRetryInterval: Duration
    /// Backoff for dead-letter writes that fail (retried until they succeed or the work is abandoned).
    package var deadLetterRetry: RetryPolicy
    package var health: DestinationHealth
    package var receipts: (any ReceiptSink)?
    package var metrics: EngineMetrics
    package var logger: Logger
    /// Told when a dead-letter write keeps failing for a partition (`true`) and when it recovers.
    package var onDeadLetterStall: (@Sendable (PartitionID, Bool) -> Void)?

    package init(
        destinations: [any ErasureApplier], decoder: RetirementEventDecoder = RetirementEventDecoder(),
        deadLetters: any DeadLetterSink, retry: RetryPolicy, configurationErrorRetryInterval: Duration = .seconds(30),
        deadLetterRetry: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(200), maxBackoff: .seconds(30), maxAttempts: .max),
        health: DestinationHealth, receipts: (any ReceiptSink)? = nil, metrics: EngineMetrics, logger: Logger
    ) {
        self.destinations = destinations
        self.decoder = decoder
        self.deadLetters = deadLetters
        self.retry = retry
        self.configurationErrorRetryInterval = configurationErrorRetryInterval
        self.deadLetterRetry = deadLetterRetry
        self.health = health
        self.receipts = receipts
        self.metrics = metrics
        self.logger = logger
    }

    /// Processes one record until it is done or the task is cancelled.
    package func process(_ record: InboundRecord) async -> EventResult {
        switch start(record) {
        case .finished(let result): return result
        case .waits(let rest): return await rest()
        }
    }

    /// Begins one record without waiting: decodes it and offers it to every destination that can
    /// answer at once (``ErasureApplier/applyImmediately(_:)``). Finished when every destination
    /// settled that way; otherwise the rest (retries, the other destinations, the dead-letter
    /// write) is returned to run in a task.
    package func start(_ record: InboundRecord) -> WorkStart {
        metrics.consumed.increment()
        let decoded = decoder.decode(key: record.key, value: record.value, header: { record.header($0) })
        switch decoded {
        case .failure(let bad):
            return .waits { await self.deadLetterBadInput(record, bad) }
        case .success(let event):
            if !event.wasEncrypted { metrics.plaintextEvents.increment() }
            // Made at the first destination that answers at once: a network destination's record
            // (no such answer) goes on to `apply` exactly as it would without this step.
            var firsts: [FirstAttempt?]?
            var allSettled = true
            for (index, target) in destinations.enumerated() {
                let started = ContinuousClock.now
                guard let outcome = target.applyImmediately(event) else {
                    allSettled = false
                    continue
                }
                var attempts = 1
                let step = judge(outcome, of: event, at: target, attempts: &attempts, latency: ContinuousClock.now - started)
                if case .done(let settlement) = step, settlement.state == .settled {} else { allSettled = false }
                if firsts == nil { firsts = Array(repeating: nil, count: destinations.count) }
                firsts?[index] = FirstAttempt(step: step, attempts: attempts)
            }
            if allSettled {
                metrics.completed(.erased)
                return .finished(.erased)
            }
            let destinations = self.destinations
            let attempted = firsts
            return .waits { await self.apply(event, record: record, to: destinations, after: attempted) }
        }
    }

    private func deadLetterBadInput(_ record: InboundRecord, _ bad: BadInput) async -> EventResult {
        var log = logger
        log[metadataKey: "partition"] = "\(record.partition)"
        log[metadataKey: "offset"] = "\(record.offset)"
        log.warning("bad input, dead-lettering", metadata: ["reason": "\(bad.code)"])
        guard await writeDeadLetter(record, reason: bad.description, owed: [], attempts: 0) else { return .abandoned }
        metrics.deadLettered(reasonCode: bad.code)
        metrics.completed(.badInput)
        return .deadLettered
    }

    /// Applies a decoded event to `targets` (all destinations, or a replay's subset) and
    /// dead-letters it for the destinations that still owe it. `firsts`, when given, holds one
    /// entry per target: what its first attempt (made by ``start(_:)``) led to, or `nil`.
    package func apply(
        _ event: RetirementEvent, record: InboundRecord, to targets: [any ErasureApplier], after firsts: [FirstAttempt?]? = nil
    ) async -> EventResult {
        guard let results = await settle(event, at: targets, after: firsts) else { return .abandoned }
        let owed = results.compactMap(\.owed)
        if owed.isEmpty {
            metrics.completed(.erased)
            return .erased
        }
        guard await deadLetter(event, record: record, owed: owed) else { return .abandoned }
        return .deadLettered
    }

    /// Applies the event at every target, each with its retries, until each settled or gave up.
    /// Returns `nil` when the work was cancelled before every target had an answer.
    package func settle(
        _ event: RetirementEvent, at targets: [any ErasureApplier], after firsts: [FirstAttempt?]? = nil
    ) async -> [DestinationSettlement]? {
        let results: [DestinationSettlement]
        if targets.count == 1 {
            // One destination: no child task needed (cancellation reaches it the same way).
            results = [await settle(event, at: targets[0], after: firsts?[0])]
        } else {
            results = await withTaskGroup(of: DestinationSettlement.self) { group in
                for (index, target) in targets.enumerated() {
                    let first = firsts?[index]
                    group.addTask { await self.settle(event, at: target, after: first) }
                }
                var results: [DestinationSettlement] = []
                for await result in group { results.append(result) }
                return results
            }
        }
        if Task.isCancelled || results.contains(where: { $0.state == .abandoned }) { return nil }
        return results
    }

    /// Writes the record to the dead-letter topic naming `owed` (sorted by name), with a receipt
    /// per owed destination. Returns `false` only when cancelled before the write was acknowledged.
    package func deadLetter(_ event: RetirementEvent, record: InboundRecord, owed: [OwedDestination]) async -> Bool {
        let owed = owed.sorted { $0.name < $1.name }
        let reason = owed.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
        let attempts = owed.map(\.attempts).max() ?? 0
        eventLogger(event).warning(
            "dead-lettering event for destinations", metadata: ["destinations": "\(owed.map(\.name).joined(separator: ","))"])
        guard await writeDeadLetter(record, reason: reason, owed: owed.map(\.name), attempts: attempts) else { return false }
        for item in owed {
            metrics.deadLettered(reasonCode: DeadLetterContract.destinationFailed)
            receipts?.record(
                ErasureReceipt(
                    eventID: event.eventID, userID: event.userID, destination: item.name, outcome: .deadLettered,
                    jobID: nil, time: WallClock.now, attempts: item.attempts))
        }
        metrics.completed(.deadLettered)
        return true
    }

    /// The logger of one event (and destination), with its metadata. Built only when a line is
    /// written: building it costs allocations, and most events write no line.
    private func eventLogger(_ event: RetirementEvent, destination: String? = nil) -> Logger {
        var log = logger
        log[metadataKey: "user_id"] = "\(event.userID)"
        log[metadataKey: "event_id"] = "\(event.eventID)"
        if let destination { log[metadataKey: "destination"] = "\(destination)" }
        return log
    }

    private var debugEnabled: Bool { logger.logLevel <= .debug }

    /// What one attempt's outcome leaves to do for a destination.
    package enum Step: Sendable {
        /// The destination is done with the event (settled or owed).
        case done(DestinationSettlement)
        /// Try again after this wait.
        case retry(after: Duration)
    }

    /// A destination's first attempt, made without waiting by ``start(_:)``.
    package struct FirstAttempt: Sendable {
        package var step: Step
        package var attempts: Int
    }

    private func settle(_ event: RetirementEvent, at target: any ErasureApplier, after first: FirstAttempt?) async -> DestinationSettlement {
        var attempts = first?.attempts ?? 0
        var next = first?.step
        while true {
            if let step = next {
                next = nil
                switch step {
                case .done(let settlement):
                    return settlement
                case .retry(let wait):
                    do { try await Task.sleep(for: wait) } catch {
                        return DestinationSettlement(name: target.name, state: .abandoned, attempts: attempts)
                    }
                }
            }
            if Task.isCancelled { return DestinationSettlement(name: target.name, state: .abandoned, attempts: attempts) }
            attempts += 1
            let started = ContinuousClock.now
            let outcome = await target.apply(event)
            next = judge(outcome, of: event, at: target, attempts: &attempts, latency: ContinuousClock.now - started)
        }
    }

    /// Records one attempt's outcome (metrics, health, receipts, logs) and says what follows.
    /// A configuration error is not an attempt against the event: it gives `attempts` back.
    private func judge(
        _ outcome: ErasureOutcome, of event: RetirementEvent, at target: any ErasureApplier, attempts: inout Int, latency: Duration
    ) -> Step {
        var log: Logger { eventLogger(event, destination: target.name) }
        metrics.outcome(outcome, destination: target.name, latency: latency)
        switch outcome {
        case .erased(let jobID):
            markHealthy(target.name)
            if let jobID {
                log.info("erasure accepted", metadata: ["job_id": "\(jobID)"])
            } else if debugEnabled {
                log.debug("erased")
            }
            receipts?.record(
                ErasureReceipt(
                    eventID: event.eventID, userID: event.userID, destination: target.name, outcome: .erased,
                    jobID: jobID, time: WallClock.now, attempts: attempts))
            return .done(DestinationSettlement(name: target.name, state: .settled, attempts: attempts))
        case .alreadyGone:
            markHealthy(target.name)
            if debugEnabled { log.debug("already gone") }
            receipts?.record(
                ErasureReceipt(
                    eventID: event.eventID, userID: event.userID, destination: target.name, outcome: .alreadyGone,
                    jobID: nil, time: WallClock.now, attempts: attempts))
            return .done(DestinationSettlement(name: target.name, state: .settled, attempts: attempts))
        case .permanent(let reason):
            markHealthy(target.name)
            log.warning("permanent failure", metadata: ["reason": "\(reason)"])
            return .done(DestinationSettlement(name: target.name, state: .owed(reason: reason), attempts: attempts))
        case .transient(let reason, let retryAfter):
            markHealthy(target.name)
            if attempts >= retry.maxAttempts {
                log.warning("giving up after attempts", metadata: ["attempts": "\(attempts)", "reason": "\(reason)"])
                return .done(
                    DestinationSettlement(
                        name: target.name, state: .owed(reason: "gave up after \(attempts) attempts: \(reason)"),
                        attempts: attempts))
            }
            let wait = retry.delay(afterAttempt: attempts, retryAfter: retryAfter)
            metrics.retry(destination: target.name)
            if debugEnabled { log.debug("transient failure, retrying", metadata: ["reason": "\(reason)", "wait_s": "\(wait.seconds)"]) }
            return .retry(after: wait)
        case .configurationError(let reason):
            // Not an attempt against the event: the destination itself is broken. Wait and try again.
            attempts -= 1
            if health.markConfigurationError(target.name, reason: reason) {
                metrics.ready(destination: target.name, false)
                log.error("destination in configuration error; its events wait uncommitted", metadata: ["reason": "\(reason)"])
            }
            return .retry(after: configurationErrorRetryInterval)
        }
    }

    private func markHealthy(_ name: String) {
        if health.markHealthy(name) {
            metrics.ready(destination: name, true)
            logger.info("destination recovered from configuration error", metadata: ["destination": "\(name)"])
        }
    }

    /// Retries the write until it is acknowledged; `false` when cancelled first.
    private func writeDeadLetter(_ record: InboundRecord, reason: String, owed: [String], attempts: Int) async -> Bool {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await deadLetters.deadLetter(record, reason: reason, owedDestinations: owed, attempts: attempts)
                if failures > 0 { onDeadLetterStall?(record.partition, false) }
                return true
            } catch {
                failures += 1
                metrics.deadLetterWriteFailures.increment()
                logger.error(
                    "dead-letter write failed; the event stays uncommitted and is retried",
                    metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)", "error": "\(error)"])
                if failures == 1 { onDeadLetterStall?(record.partition, true) }
                let wait = deadLetterRetry.delay(afterAttempt: failures, retryAfter: nil)
                do { try await Task.sleep(for: wait) } catch { break }
            }
        }
        if failures > 0 { onDeadLetterStall?(record.partition, false) }
        return false
    }
}
