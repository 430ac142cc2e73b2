import Logging
import RetirementEvent

/// How the engine left an event.
public enum EventResult: Sendable, Equatable {
    /// Every destination settled.
    case erased
    /// Written to the dead-letter topic (bad input, or destinations still owed).
    case deadLettered
    /// Not finished (revoked or shutting down): must not be committed; it will come again.
    case abandoned
}

/// Applies one record: decode, erase at every destination with retries, dead-letter what is owed.
public struct EventProcessor: Sendable {
    public var destinations: [any ErasureApplier]
    public var decoder: RetirementEventDecoder
    public var deadLetters: any DeadLetterSink
    public var retry: RetryPolicy
    /// How often a destination in configuration error is tried again for a waiting event.
    public var configurationErrorRetryInterval: Duration
    /// Backoff for dead-letter writes that fail (retried until they succeed or the work is abandoned).
    public var deadLetterRetry: RetryPolicy
    public var health: DestinationHealth
    public var receipts: (any ReceiptSink)?
    public var metrics: EngineMetrics
    public var logger: Logger
    /// Told when a dead-letter write keeps failing for a partition (`true`) and when it recovers.
    public var onDeadLetterStall: (@Sendable (PartitionID, Bool) -> Void)?

    public init(
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
    public func process(_ record: InboundRecord) async -> EventResult {
        metrics.consumed.increment()
        let decoded = decoder.decode(key: record.key, value: record.value, header: { record.header($0) })
        switch decoded {
        case .failure(let bad):
            var log = logger
            log[metadataKey: "partition"] = "\(record.partition)"
            log[metadataKey: "offset"] = "\(record.offset)"
            log.warning("bad input, dead-lettering", metadata: ["reason": "\(bad.code)"])
            guard await writeDeadLetter(record, reason: bad.description, owed: [], attempts: 0) else { return .abandoned }
            metrics.deadLettered(reasonCode: bad.code)
            metrics.completed("bad_input")
            return .deadLettered
        case .success(let event):
            if !event.wasEncrypted { metrics.plaintextEvents.increment() }
            return await apply(event, record: record, to: destinations)
        }
    }

    /// Applies a decoded event to `targets` (all destinations, or a replay's subset).
    public func apply(_ event: RetirementEvent, record: InboundRecord, to targets: [any ErasureApplier]) async -> EventResult {
        let results: [DestinationResult]
        if targets.count == 1 {
            // One destination: no child task needed (cancellation reaches it the same way).
            results = [await settle(event, at: targets[0])]
        } else {
            results = await withTaskGroup(of: DestinationResult.self) { group in
                for target in targets {
                    group.addTask { await self.settle(event, at: target) }
                }
                var results: [DestinationResult] = []
                for await result in group { results.append(result) }
                return results
            }
        }
        if Task.isCancelled || results.contains(where: { $0.abandoned }) { return .abandoned }
        let owed = results.filter { !$0.settled }.sorted { $0.name < $1.name }
        if owed.isEmpty {
            metrics.completed("erased")
            return .erased
        }
        let reason = owed.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
        let attempts = owed.map(\.attempts).max() ?? 0
        eventLogger(event).warning("dead-lettering event for destinations", metadata: ["destinations": "\(owed.map(\.name).joined(separator: ","))"])
        guard await writeDeadLetter(record, reason: reason, owed: owed.map(\.name), attempts: attempts) else { return .abandoned }
        for item in owed {
            metrics.deadLettered(reasonCode: "destination")
            await receipts?.record(
                ErasureReceipt(
                    eventID: event.eventID, userID: event.userID, destination: item.name, outcome: "dead_lettered",
                    jobID: nil, time: Clock.now, attempts: item.attempts))
        }
        metrics.completed("dead_lettered")
        return .deadLettered
    }

    struct DestinationResult: Sendable {
        var name: String
        var settled: Bool
        var abandoned: Bool
        var reason: String
        var attempts: Int
    }

    /// The logger of one event (and destination), with its metadata. Built only when a line is
    /// written: building it for every event cost several allocations on the hot path.
    private func eventLogger(_ event: RetirementEvent, destination: String? = nil) -> Logger {
        var log = logger
        log[metadataKey: "user_id"] = "\(event.userID)"
        log[metadataKey: "event_id"] = "\(event.eventID)"
        if let destination { log[metadataKey: "destination"] = "\(destination)" }
        return log
    }

    private var debugEnabled: Bool { logger.logLevel <= .debug }

    private func settle(_ event: RetirementEvent, at target: any ErasureApplier) async -> DestinationResult {
        var attempts = 0
        var log: Logger { eventLogger(event, destination: target.name) }
        while true {
            if Task.isCancelled { return DestinationResult(name: target.name, settled: false, abandoned: true, reason: "", attempts: attempts) }
            attempts += 1
            let started = ContinuousClock.now
            let outcome = await target.apply(event)
            metrics.outcome(outcome, destination: target.name, latency: ContinuousClock.now - started)
            switch outcome {
            case .erased(let jobID):
                markHealthy(target.name)
                if let jobID {
                    log.info("erasure accepted", metadata: ["job_id": "\(jobID)"])
                } else if debugEnabled {
                    log.debug("erased")
                }
                await receipts?.record(
                    ErasureReceipt(eventID: event.eventID, userID: event.userID, destination: target.name, outcome: "erased",
                                   jobID: jobID, time: Clock.now, attempts: attempts))
                return DestinationResult(name: target.name, settled: true, abandoned: false, reason: "", attempts: attempts)
            case .alreadyGone:
                markHealthy(target.name)
                if debugEnabled { log.debug("already gone") }
                await receipts?.record(
                    ErasureReceipt(eventID: event.eventID, userID: event.userID, destination: target.name, outcome: "already_gone",
                                   jobID: nil, time: Clock.now, attempts: attempts))
                return DestinationResult(name: target.name, settled: true, abandoned: false, reason: "", attempts: attempts)
            case .permanent(let reason):
                markHealthy(target.name)
                log.warning("permanent failure", metadata: ["reason": "\(reason)"])
                return DestinationResult(name: target.name, settled: false, abandoned: false, reason: reason, attempts: attempts)
            case .transient(let reason, let retryAfter):
                markHealthy(target.name)
                if attempts >= retry.maxAttempts {
                    log.warning("giving up after attempts", metadata: ["attempts": "\(attempts)", "reason": "\(reason)"])
                    return DestinationResult(
                        name: target.name, settled: false, abandoned: false,
                        reason: "gave up after \(attempts) attempts: \(reason)", attempts: attempts)
                }
                let wait = retry.delay(afterAttempt: attempts, retryAfter: retryAfter)
                metrics.retry(destination: target.name)
                if debugEnabled { log.debug("transient failure, retrying", metadata: ["reason": "\(reason)", "wait_s": "\(wait.seconds)"]) }
                do { try await Task.sleep(for: wait) } catch {
                    return DestinationResult(name: target.name, settled: false, abandoned: true, reason: "", attempts: attempts)
                }
            case .configurationError(let reason):
                // Not an attempt against the event: the destination itself is broken. Wait and try again.
                attempts -= 1
                if health.markConfigurationError(target.name, reason: reason) {
                    metrics.ready(destination: target.name, false)
                    log.error("destination in configuration error; its events wait uncommitted", metadata: ["reason": "\(reason)"])
                }
                do { try await Task.sleep(for: configurationErrorRetryInterval) } catch {
                    return DestinationResult(name: target.name, settled: false, abandoned: true, reason: "", attempts: attempts)
                }
            }
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

/// Wall-clock time for receipts.
enum Clock {
    static var now: Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
