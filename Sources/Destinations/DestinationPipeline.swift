import Engine
import Logging
import Metrics
import RetirementEvent
import Synchronization

/// Puts a ``Destination`` behind batching, a concurrency limit, a rate limiter, the vendor's own
/// wait signals and a circuit breaker; the engine sees it as an ``ErasureApplier``.
package final class DestinationPipeline: ErasureApplier {
    package var name: String { destination.name }
    package let destination: any Destination
    package let limits: DestinationLimits
    let breaker: CircuitBreaker
    private let concurrency: ConcurrencyLimiter
    private let rateLimiter: RateLimiter?
    private let batcher: Batcher?
    /// The destination when it answers at once and no batcher or rate limit stands before it.
    private let immediate: (any ImmediateDestination)?
    private let notBefore = Mutex<ContinuousClock.Instant?>(nil)
    private let deadlines = DeadlineWatch()
    private let logger: Logger
    private let calls: Counter

    package init(destination: any Destination, limits: DestinationLimits, logger: Logger) {
        self.destination = destination
        self.limits = limits
        self.logger = logger
        let gauge = Gauge(label: "retirement_circuit_state", dimensions: [("destination", destination.name)])
        gauge.record(0)
        let name = destination.name
        breaker = CircuitBreaker(threshold: limits.circuitFailureThreshold, openDuration: limits.circuitOpenDuration) { state in
            gauge.record(state.rawValue)
            logger.warning("circuit state changed", metadata: ["destination": "\(name)", "state": "\(state)"])
        }
        calls = Counter(label: "retirement_destination_calls_total", dimensions: [("destination", destination.name)])
        concurrency = ConcurrencyLimiter(limit: limits.concurrency)
        rateLimiter = limits.requestsPerSecond.map { RateLimiter(rate: $0, burst: limits.burst) }
        if destination.maxBatchSize > 1 {
            batcher = Batcher(maxSize: destination.maxBatchSize, linger: limits.linger)
        } else {
            batcher = nil
        }
        immediate = batcher == nil && rateLimiter == nil ? destination as? any ImmediateDestination : nil
    }

    /// Calls an ``ImmediateDestination`` on the caller's thread when the breaker, the concurrency
    /// limit and the vendor's last wait signal let the call go now; `nil`, having done nothing,
    /// otherwise (and for every other destination).
    package func applyImmediately(_ event: RetirementEvent) -> ErasureOutcome? {
        guard let immediate else { return nil }
        if let until = notBefore.withLock({ $0 }), until > .now { return nil }
        if let wait = breaker.permit() { return .transient(reason: "circuit open", retryAfter: wait) }
        guard concurrency.tryAcquire() else {
            breaker.withdrawPermit()
            return nil
        }
        calls.increment()
        let outcomes = immediate.eraseImmediately([event])
        concurrency.release()
        precondition(outcomes.count == 1, "\(name) answered \(outcomes.count) outcomes for 1 event")
        observe(outcomes)
        return outcomes[0]
    }

    package func apply(_ event: RetirementEvent) async -> ErasureOutcome {
        guard let batcher else { return await send([event])[0] }
        return await batcher.submit(event) { batch in await self.send(batch) }
    }

    /// One call to the destination, under every limit, bounded by ``DestinationLimits/callTimeout``.
    /// Always returns one outcome per event.
    ///
    /// The call runs in a task of its own: past its deadline (or when the caller is cancelled) the
    /// caller gets its answer at once, while the call keeps its concurrency slot until it really
    /// ends, so a hung call can never let more calls through than `concurrency`.
    func send(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        if let wait = breaker.permit() {
            return Array(repeating: .transient(reason: "circuit open", retryAfter: wait), count: events.count)
        }
        do {
            try await concurrency.acquire()
        } catch {
            breaker.withdrawPermit()
            return cancelled(events)
        }
        do {
            if let until = notBefore.withLock({ $0 }), until > .now {
                try await Task.sleep(until: until, clock: .continuous)
            }
            try await rateLimiter?.acquire()
        } catch {
            concurrency.release()
            breaker.withdrawPermit()
            return cancelled(events)
        }
        calls.increment()
        guard destination.canHang else {
            let outcomes = await destination.erase(events)
            concurrency.release()
            precondition(outcomes.count == events.count, "\(name) answered \(outcomes.count) outcomes for \(events.count) events")
            observe(outcomes)
            return outcomes
        }
        let race = CallRace()
        let timeout = limits.callTimeout
        let deadline = deadlines.add(deadline: .now + timeout) {
            // A call (a half-open probe too) that did not answer in time is a failure, recorded
            // before the caller hears of it.
            guard race.finish(.timedOut, onWin: { self.breaker.record(success: false) }) == nil else { return }
            self.logger.warning(
                "destination call timed out; its events are retried",
                metadata: ["destination": "\(self.name)", "timeout_s": "\(timeout.seconds)", "events": "\(events.count)"])
        }
        Task {
            let outcomes = await self.destination.erase(events)
            self.concurrency.release()
            self.deadlines.cancel(deadline)
            precondition(outcomes.count == events.count, "\(self.name) answered \(outcomes.count) outcomes for \(events.count) events")
            if case .cancelled? = race.finish(.answered(outcomes), onWin: { self.observe(outcomes) }) {
                // The caller left; the breaker still learns how the call (maybe a probe) ended.
                self.observe(outcomes)
            }
        }
        let ending = await withTaskCancellationHandler {
            await race.wait()
        } onCancel: {
            _ = race.finish(.cancelled)
        }
        switch ending {
        case .answered(let outcomes): return outcomes
        case .timedOut:
            return Array(
                repeating: .transient(reason: "no answer within \(timeout.seconds) s (call_timeout)", retryAfter: nil),
                count: events.count)
        case .cancelled: return cancelled(events)
        }
    }

    private func cancelled(_ events: [RetirementEvent]) -> [ErasureOutcome] {
        Array(repeating: .transient(reason: "cancelled", retryAfter: nil), count: events.count)
    }

    private func observe(_ outcomes: [ErasureOutcome]) {
        var waitSignal: Duration?
        var allFailed = true
        for outcome in outcomes {
            switch outcome {
            case .transient(_, let retryAfter):
                if let retryAfter { waitSignal = max(waitSignal ?? .zero, retryAfter) }
            case .configurationError:
                break
            default:
                allFailed = false
            }
        }
        if var waitSignal {
            if waitSignal > limits.maxVendorWait {
                logger.warning(
                    "vendor asked for a wait longer than max_retry_after; waiting max_retry_after",
                    metadata: [
                        "destination": "\(name)", "asked_s": "\(Int64(waitSignal.seconds))",
                        "max_retry_after_s": "\(Int64(limits.maxVendorWait.seconds))",
                    ])
                waitSignal = limits.maxVendorWait
            }
            // The vendor said how long to wait: every call of this destination waits, not just these events.
            notBefore.withLock { $0 = max($0 ?? .now, .now + waitSignal) }
            breaker.record(success: true)
        } else {
            breaker.record(success: !allFailed || outcomes.isEmpty)
        }
    }

    package func check() async -> [String] {
        await destination.check()
    }

    package func shutdown() async {
        deadlines.close()
        await destination.shutdown()
    }
}
