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
}
