import Engine
import Logging
import Metrics
import RetirementEvent
import Synchronization

/// Puts a ``Destination`` behind batching, a concurrency limit, a rate limiter, the vendor's own
/// wait signals and a circuit breaker; the engine sees it as an ``ErasureApplier``.
public final class DestinationPipeline: ErasureApplier {
    public var name: String { destination.name }
    public let destination: any Destination
    public let limits: DestinationLimits
    let breaker: CircuitBreaker
    private let concurrency: ConcurrencyLimiter
    private let rateLimiter: RateLimiter?
    private let batcher: Batcher?
    private let notBefore = Mutex<ContinuousClock.Instant?>(nil)
    private let logger: Logger
    private let calls: Counter

    public init(destination: any Destination, limits: DestinationLimits, logger: Logger) {
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
    }

    public func apply(_ event: RetirementEvent) async -> ErasureOutcome {
        guard let batcher else { return await send([event])[0] }
        return await batcher.submit(event) { batch in await self.send(batch) }
    }

    /// One call to the destination, under every limit. Always returns one outcome per event.
    func send(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        if let wait = breaker.permit() {
            return Array(repeating: .transient(reason: "circuit open", retryAfter: wait), count: events.count)
        }
        return await concurrency.withPermit {
            if let until = self.notBefore.withLock({ $0 }), until > .now {
                try? await Task.sleep(until: until, clock: .continuous)
            }
            await self.rateLimiter?.acquire()
            self.calls.increment()
            let outcomes = await self.destination.erase(events)
            precondition(outcomes.count == events.count, "\(self.name) answered \(outcomes.count) outcomes for \(events.count) events")
            self.observe(outcomes)
            return outcomes
        }
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
        if let waitSignal {
            // The vendor said how long to wait: every call of this destination waits, not just these events.
            notBefore.withLock { $0 = max($0 ?? .now, .now + waitSignal) }
            breaker.record(success: true)
        } else {
            breaker.record(success: !allFailed || outcomes.isEmpty)
        }
    }

    public func check() async -> [String] {
        await destination.check()
    }

    public func shutdown() async {
        await destination.shutdown()
    }
}

/// Collects single events into batches of up to `maxSize`, sent when full or after `linger`.
actor Batcher {
    typealias Send = @Sendable ([RetirementEvent]) async -> [ErasureOutcome]

    private let maxSize: Int
    private let linger: Duration
    private var pending: [(RetirementEvent, CheckedContinuation<ErasureOutcome, Never>)] = []
    private var timer: Task<Void, Never>?
    private var send: Send?

    init(maxSize: Int, linger: Duration) {
        self.maxSize = maxSize
        self.linger = linger
    }

    func submit(_ event: RetirementEvent, send: @escaping Send) async -> ErasureOutcome {
        self.send = send
        return await withCheckedContinuation { continuation in
            pending.append((event, continuation))
            flush(force: false)
        }
    }

    private func lingerElapsed() {
        timer = nil
        flush(force: true)
    }

    /// Sends every full batch, and the rest too when `force`; keeps a timer for what waits.
    private func flush(force: Bool) {
        guard let send else { return }
        while pending.count >= maxSize || (force && !pending.isEmpty) {
            let count = min(maxSize, pending.count)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            Task {
                let outcomes = await send(batch.map(\.0))
                for (index, item) in batch.enumerated() { item.1.resume(returning: outcomes[index]) }
            }
        }
        if pending.isEmpty {
            timer?.cancel()
            timer = nil
        } else if timer == nil {
            let linger = self.linger
            timer = Task {
                try? await Task.sleep(for: linger)
                self.lingerElapsed()
            }
        }
    }
}
