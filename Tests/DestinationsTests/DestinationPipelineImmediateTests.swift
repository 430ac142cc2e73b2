import Engine
import Foundation
import RetirementEvent
import Synchronization
import Testing

@testable import Destinations

/// ``DestinationPipeline/applyImmediately(_:)``: a destination that answers in process is called
/// on the caller's thread only when no limit would make the call wait; otherwise nothing is done
/// and the caller awaits ``DestinationPipeline/apply(_:)``.
@Suite struct DestinationPipelineImmediateTests {
    /// Answers in process from a script (one outcome per call, counted); the call waiting for a
    /// slot (`erase`) can be held by the test.
    final class Local: ImmediateDestination {
        let name = "local"
        let maxBatchSize: Int
        let calls = Mutex(0)
        let hold = Mutex(false)
        let script: @Sendable (Int) -> ErasureOutcome

        init(maxBatchSize: Int = 1, _ script: @escaping @Sendable (Int) -> ErasureOutcome = { _ in .erased(jobID: nil) }) {
            self.maxBatchSize = maxBatchSize
            self.script = script
        }

        func eraseImmediately(_ events: [RetirementEvent]) -> [ErasureOutcome] {
            let call = calls.withLock {
                $0 += 1; return $0
            }
            return events.map { _ in script(call) }
        }

        func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
            while hold.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
            return eraseImmediately(events)
        }

        func check() async -> [String] { [] }
        var canHang: Bool { false }
    }

    func pipeline(_ destination: Local, _ limits: DestinationLimits = DestinationLimits()) -> DestinationPipeline {
        DestinationPipeline(destination: destination, limits: limits, logger: Fixture.logger())
    }

    @Test func answersAtOnceWhenNothingMakesTheCallWait() {
        let local = Local()
        #expect(pipeline(local).applyImmediately(Fixture.event(1)) == .erased(jobID: nil))
        #expect(local.calls.withLock { $0 } == 1)
    }

    @Test func aBatchOrARateLimitAlwaysWaits() {
        let batched = Local(maxBatchSize: 10)
        #expect(pipeline(batched).applyImmediately(Fixture.event(1)) == nil)
        let limited = Local()
        #expect(pipeline(limited, DestinationLimits(requestsPerSecond: 1000)).applyImmediately(Fixture.event(1)) == nil)
        #expect(batched.calls.withLock { $0 } + limited.calls.withLock { $0 } == 0, "nothing was called")
    }

    @Test func aFullConcurrencyLimitWaitsWithoutACall() async throws {
        let local = Local()
        local.hold.withLock { $0 = true }
        let pipeline = pipeline(local, DestinationLimits(concurrency: 1))
        let holder = Task { await pipeline.apply(Fixture.event(1)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(pipeline.applyImmediately(Fixture.event(2)) == nil)
        #expect(local.calls.withLock { $0 } == 0)
        local.hold.withLock { $0 = false }
        #expect(await holder.value == .erased(jobID: nil))
        #expect(pipeline.applyImmediately(Fixture.event(3)) == .erased(jobID: nil), "the slot came back")
    }

    @Test func aVendorWaitSignalMakesTheNextCallWait() {
        let local = Local { call in call == 1 ? .transient(reason: "busy", retryAfter: .seconds(30)) : .erased(jobID: nil) }
        let pipeline = pipeline(local)
        #expect(pipeline.applyImmediately(Fixture.event(1)) == .transient(reason: "busy", retryAfter: .seconds(30)))
        #expect(pipeline.applyImmediately(Fixture.event(2)) == nil)
        #expect(local.calls.withLock { $0 } == 1)
    }

    @Test func anOpenCircuitAnswersWithoutACall() {
        let local = Local { _ in .transient(reason: "down", retryAfter: nil) }
        let pipeline = pipeline(local, DestinationLimits(circuitFailureThreshold: 2, circuitOpenDuration: .seconds(30)))
        _ = pipeline.applyImmediately(Fixture.event(1))
        _ = pipeline.applyImmediately(Fixture.event(2))
        guard case .transient(let reason, let retryAfter)? = pipeline.applyImmediately(Fixture.event(3)) else {
            Issue.record("expected the open circuit's answer")
            return
        }
        #expect(reason == "circuit open" && retryAfter != nil)
        #expect(local.calls.withLock { $0 } == 2)
    }
}
