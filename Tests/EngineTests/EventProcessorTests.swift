import Engine
import Logging
import RetirementEvent
import Synchronization
import Testing

/// The per-event logic without Kafka: retries only what failed, dead-letters what is owed,
/// never dead-letters a configuration error, retries dead-letter writes until acknowledged.
@Suite struct EventProcessorTests {
    /// A destination answering from a script, one outcome per call (the last one repeats).
    final class Scripted: ErasureApplier {
        let name: String
        let script: [ErasureOutcome]
        let calls = Mutex(0)

        init(_ name: String, _ script: [ErasureOutcome]) {
            self.name = name
            self.script = script
        }

        func apply(_ event: RetirementEvent) async -> ErasureOutcome {
            let call = calls.withLock {
                $0 += 1; return $0
            }
            return script[min(call, script.count) - 1]
        }

        var callCount: Int { calls.withLock { $0 } }
    }

    final class DeadLetters: DeadLetterSink {
        struct Written: Sendable {
            var reason: String
            var owed: [String]
            var attempts: Int
        }

        let written = Mutex<[Written]>([])
        let failuresLeft: Mutex<Int>

        init(failures: Int = 0) {
            failuresLeft = Mutex(failures)
        }

        func deadLetter(_ record: InboundRecord, reason: String, owedDestinations: [String], attempts: Int) async throws {
            struct BrokerDown: Error {}
            if failuresLeft.withLock({ left in
                defer { left -= 1 }; return left > 0
            }) {
                throw BrokerDown()
            }
            written.withLock { $0.append(Written(reason: reason, owed: owedDestinations, attempts: attempts)) }
        }
    }

    let record = InboundRecord(
        partition: PartitionID(topic: "t", partition: 0), offset: 5, key: Array("42".utf8),
        value: Array(#"{"user_id": 42, "username": "u", "email": "e@example.org"}"#.utf8),
        headers: [
            RecordHeader(name: "ce_type", value: Array(RetirementEvent.eventType.utf8)), RecordHeader(name: "ce_id", value: Array("id".utf8)),
        ])

    func processor(
        _ destinations: [any ErasureApplier], deadLetters: DeadLetters, health: DestinationHealth = DestinationHealth(), maxAttempts: Int = 3
    )
        -> EventProcessor
    {
        EventProcessor(
            destinations: destinations, deadLetters: deadLetters,
            retry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5), maxAttempts: maxAttempts),
            configurationErrorRetryInterval: .milliseconds(20),
            deadLetterRetry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5), maxAttempts: .max),
            health: health, metrics: EngineMetrics(), logger: Logger(label: "t"))
    }

    @Test func aRetryRerunsOnlyTheDestinationThatFailed() async {
        let flaky = Scripted("flaky", [.transient(reason: "HTTP 503", retryAfter: nil), .transient(reason: "HTTP 503", retryAfter: nil), .erased(jobID: nil)])
        let steady = Scripted("steady", [.erased(jobID: nil)])
        let deadLetters = DeadLetters()
        let result = await processor([flaky, steady], deadLetters: deadLetters).process(record)
        #expect(result == .erased)
        #expect(flaky.callCount == 3)
        #expect(steady.callCount == 1)
        #expect(deadLetters.written.withLock { $0.isEmpty })
    }

    @Test func permanentAndExhaustedDestinationsAreDeadLetteredByName() async {
        let refusing = Scripted("refusing", [.permanent(reason: "HTTP 400")])
        let down = Scripted("down", [.transient(reason: "HTTP 503", retryAfter: nil)])
        let fine = Scripted("fine", [.alreadyGone])
        let deadLetters = DeadLetters()
        let result = await processor([refusing, down, fine], deadLetters: deadLetters).process(record)
        #expect(result == .deadLettered)
        #expect(down.callCount == 3)
        let written = deadLetters.written.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.owed == ["down", "refusing"])
        #expect(written.first?.attempts == 3)
        #expect(written.first?.reason.contains("refusing: HTTP 400") == true)
        #expect(written.first?.reason.contains("down: gave up after 3 attempts") == true)
    }

    @Test func aConfigurationErrorWaitsAndIsNeverDeadLettered() async {
        let health = DestinationHealth()
        let locked = Scripted("locked", Array(repeating: .configurationError(reason: "HTTP 401"), count: 5) + [.erased(jobID: "job-1")])
        let deadLetters = DeadLetters()
        let processor = processor([locked], deadLetters: deadLetters, health: health, maxAttempts: 2)
        let task = Task { await processor.process(record) }
        let sawNotReady = await eventuallyTrue(timeout: .seconds(5)) { !health.allReady }
        #expect(sawNotReady)
        #expect(await task.value == .erased)
        #expect(locked.callCount == 6, "configuration errors do not count as attempts")
        #expect(health.allReady)
        #expect(deadLetters.written.withLock { $0.isEmpty })
    }

    @Test func failingDeadLetterWritesAreRetriedAndStallThePartition() async {
        let deadLetters = DeadLetters(failures: 3)
        let stalls = Mutex<[Bool]>([])
        var processor = processor([Scripted("x", [.erased(jobID: nil)])], deadLetters: deadLetters)
        processor.onDeadLetterStall = { _, stalled in stalls.withLock { $0.append(stalled) } }
        var bad = record
        bad.value = Array("{oops".utf8)
        #expect(await processor.process(bad) == .deadLettered)
        #expect(deadLetters.written.withLock { $0.count } == 1)
        #expect(deadLetters.written.withLock { $0.first?.owed } == [])
        #expect(stalls.withLock { $0 } == [true, false])
    }

    @Test func cancelledWorkIsAbandonedNotDone() async {
        let slow = Scripted("slow", [.transient(reason: "HTTP 503", retryAfter: .seconds(30))])
        let processor = processor([slow], deadLetters: DeadLetters(), maxAttempts: 5)
        let task = Task { await processor.process(record) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value == .abandoned)
    }

    // MARK: - Starting without waiting

    /// A destination that answers at once from `immediate` (its script, one per call) and counts
    /// the calls that had to wait (`apply`) apart.
    final class Immediate: ErasureApplier {
        let name: String
        let immediate: [ErasureOutcome?]
        let later: ErasureOutcome
        let immediateCalls = Mutex(0)
        let waitingCalls = Mutex(0)

        init(_ name: String, immediate: [ErasureOutcome?], later: ErasureOutcome = .erased(jobID: nil)) {
            self.name = name
            self.immediate = immediate
            self.later = later
        }

        func applyImmediately(_ event: RetirementEvent) -> ErasureOutcome? {
            let call = immediateCalls.withLock {
                $0 += 1; return $0
            }
            return immediate[min(call, immediate.count) - 1]
        }

        func apply(_ event: RetirementEvent) async -> ErasureOutcome {
            waitingCalls.withLock { $0 += 1 }
            return later
        }
    }

    final class Receipts: ReceiptSink {
        let receipts = Mutex<[ErasureReceipt]>([])
        func record(_ receipt: ErasureReceipt) { receipts.withLock { $0.append(receipt) } }
    }

    /// The rest of a start that must wait; records `why` as an issue when the start finished.
    func rest(of start: WorkStart, _ why: Comment) -> (@Sendable () async -> EventResult)? {
        guard case .waits(let rest) = start else {
            Issue.record(why)
            return nil
        }
        return rest
    }

    @Test func aRecordEveryDestinationSettlesAtOnceIsFinishedWithoutATask() {
        let a = Immediate("a", immediate: [.erased(jobID: nil)])
        let b = Immediate("b", immediate: [.alreadyGone])
        let receipts = Receipts()
        var processor = processor([a, b], deadLetters: DeadLetters())
        processor.receipts = receipts
        guard case .finished(let result) = processor.start(record) else {
            Issue.record("expected the record to finish without waiting")
            return
        }
        #expect(result == .erased)
        #expect(a.waitingCalls.withLock { $0 } == 0 && b.waitingCalls.withLock { $0 } == 0)
        let outcomes = receipts.receipts.withLock { $0.map { "\($0.destination) \($0.outcome) \($0.attempts)" } }
        #expect(outcomes.sorted() == ["a erased 1", "b alreadyGone 1"])
    }

    @Test func theRestWaitsOnlyForWhatDidNotSettleAtOnce() async {
        // a settles at once; b cannot answer at once; c answers at once with a transient failure.
        let a = Immediate("a", immediate: [.erased(jobID: nil)])
        let b = Immediate("b", immediate: [nil])
        let c = Immediate("c", immediate: [.transient(reason: "HTTP 503", retryAfter: nil)])
        let receipts = Receipts()
        var processor = processor([a, b, c], deadLetters: DeadLetters())
        processor.receipts = receipts
        guard let rest = rest(of: processor.start(record), "expected the rest to wait") else { return }
        #expect(await rest() == .erased)
        #expect(a.immediateCalls.withLock { $0 } == 1 && a.waitingCalls.withLock { $0 } == 0, "a is not erased twice")
        #expect(b.waitingCalls.withLock { $0 } == 1)
        #expect(c.immediateCalls.withLock { $0 } == 1 && c.waitingCalls.withLock { $0 } == 1, "c is retried once, after its backoff")
        let attempts = receipts.receipts.withLock { $0.map { "\($0.destination) \($0.attempts)" } }
        #expect(attempts.sorted() == ["a 1", "b 1", "c 2"])
    }

    @Test func aPermanentAnswerAtOnceIsDeadLetteredInTheRest() async {
        let a = Immediate("a", immediate: [.permanent(reason: "HTTP 400")])
        let deadLetters = DeadLetters()
        guard let rest = rest(of: processor([a], deadLetters: deadLetters).start(record), "a dead-letter write must wait") else { return }
        #expect(await rest() == .deadLettered)
        #expect(a.waitingCalls.withLock { $0 } == 0)
        #expect(deadLetters.written.withLock { $0.map(\.owed) } == [["a"]])
    }

    @Test func badInputIsDeadLetteredInTheRest() async {
        var bad = record
        bad.value = Array("{oops".utf8)
        let a = Immediate("a", immediate: [.erased(jobID: nil)])
        let deadLetters = DeadLetters()
        guard let rest = rest(of: processor([a], deadLetters: deadLetters).start(bad), "a dead-letter write must wait") else { return }
        #expect(await rest() == .deadLettered)
        #expect(a.immediateCalls.withLock { $0 } == 0)
        #expect(deadLetters.written.withLock { $0.count } == 1)
    }
}
