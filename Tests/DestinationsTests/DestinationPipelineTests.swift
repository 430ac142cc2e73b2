import Engine
import Foundation
import RetirementEvent
import Synchronization
import Testing

@testable import Destinations

/// The pipeline's deadlines and waits: every call bounded, every wait cancellable, every vendor
/// wait capped. The destination here is scripted; the pipeline around it is the real one.
@Suite struct DestinationPipelineTests {
    /// A destination whose calls run a script; counts calls and the most running at once.
    final class Scripted: Destination {
        let name = "scripted"
        let calls = Mutex(0)
        let running = Mutex(0)
        let maxRunning = Mutex(0)
        let script: @Sendable (Int) async -> ErasureOutcome

        init(_ script: @escaping @Sendable (Int) async -> ErasureOutcome) { self.script = script }

        func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
            let call = calls.withLock {
                $0 += 1; return $0
            }
            let now = running.withLock {
                $0 += 1; return $0
            }
            maxRunning.withLock { $0 = max($0, now) }
            let outcome = await script(call)
            running.withLock { $0 -= 1 }
            return Array(repeating: outcome, count: events.count)
        }

        func check() async -> [String] { [] }
    }

    /// Sleeps without honouring cancellation, as a call blocked inside a driver does.
    static func block(for duration: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                Thread.sleep(forTimeInterval: duration.seconds)
                continuation.resume()
            }.start()
        }
    }

    func pipeline(_ destination: Scripted, _ limits: DestinationLimits) -> DestinationPipeline {
        DestinationPipeline(destination: destination, limits: limits, logger: Fixture.logger())
    }

    @Test func aHungCallIsAnsweredAtItsDeadlineAndKeepsItsSlotUntilItEnds() async throws {
        let destination = Scripted { call in
            if call == 1 { await Self.block(for: .seconds(3)) }
            return .erased(jobID: nil)
        }
        let pipeline = pipeline(destination, DestinationLimits(concurrency: 1, callTimeout: .milliseconds(200)))
        let started = ContinuousClock.now
        let first = await pipeline.apply(Fixture.event(1))
        #expect(first.isTransient)
        #expect(first.reason.contains("call_timeout"))
        #expect(ContinuousClock.now - started < .seconds(2.5), "answered at the deadline, not when the call ended")
        // The hung call still holds the only slot: the next call waits for it to end.
        let second = await pipeline.apply(Fixture.event(2))
        #expect(second == .erased(jobID: nil))
        #expect(ContinuousClock.now - started >= .seconds(2.9))
        #expect(destination.maxRunning.withLock { $0 } == 1, "never more calls at once than concurrency")
    }

    @Test func aProbeThatTimesOutCountsAsAFailure() async throws {
        let healthy = Mutex(false)
        let destination = Scripted { _ in
            if healthy.withLock({ $0 }) { return .erased(jobID: nil) }
            // Far longer than the deadline, so a loaded machine cannot let the call win the race.
            await Self.block(for: .seconds(3))
            return .erased(jobID: nil)
        }
        let pipeline = pipeline(
            destination,
            DestinationLimits(
                concurrency: 4, circuitFailureThreshold: 1, circuitOpenDuration: .milliseconds(100),
                callTimeout: .milliseconds(100)))
        #expect(await pipeline.apply(Fixture.event(1)).isTransient)
        #expect(pipeline.breaker.state == .open)
        try await Task.sleep(for: .milliseconds(150))
        // The half-open probe hangs past its deadline: a failure, the circuit opens again.
        #expect(await pipeline.apply(Fixture.event(2)).isTransient)
        #expect(pipeline.breaker.state == .open)
        healthy.withLock { $0 = true }
        try await Task.sleep(for: .milliseconds(800))
        #expect(await pipeline.apply(Fixture.event(3)) == .erased(jobID: nil))
        #expect(pipeline.breaker.state == .closed)
    }

    @Test func cancellationDuringTheRateLimitWaitSkipsTheCall() async throws {
        let destination = Scripted { _ in .erased(jobID: nil) }
        let pipeline = pipeline(destination, DestinationLimits(concurrency: 4, requestsPerSecond: 0.2, burst: 1))
        #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))
        let waiting = Task { await pipeline.apply(Fixture.event(2)) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        let outcome = await waiting.value
        #expect(outcome.isTransient)
        #expect(destination.calls.withLock { $0 } == 1, "a cancelled wait must not turn into a call that skips the rate limit")
    }

    @Test func cancellationDuringTheVendorsWaitSkipsTheCall() async throws {
        let destination = Scripted { call in
            call == 1 ? .transient(reason: "HTTP 429", retryAfter: .seconds(30)) : .erased(jobID: nil)
        }
        let pipeline = pipeline(destination, DestinationLimits(concurrency: 4))
        #expect(await pipeline.apply(Fixture.event(1)).isTransient)
        let waiting = Task { await pipeline.apply(Fixture.event(2)) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        #expect(await waiting.value.isTransient)
        #expect(destination.calls.withLock { $0 } == 1, "the vendor's Retry-After must not be skipped by a cancellation")
    }

    @Test func aCancelledWaiterForASlotGivesUpWithoutACall() async throws {
        let destination = Scripted { call in
            if call == 1 { await Self.block(for: .seconds(3)) }
            return .erased(jobID: nil)
        }
        let pipeline = pipeline(destination, DestinationLimits(concurrency: 1))
        let first = Task { await pipeline.apply(Fixture.event(1)) }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task { await pipeline.apply(Fixture.event(2)) }
        try await Task.sleep(for: .milliseconds(50))
        let cancelledAt = ContinuousClock.now
        second.cancel()
        #expect(await second.value.isTransient)
        #expect(ContinuousClock.now - cancelledAt < .seconds(2), "the waiter left at once, not when the slot came free")
        #expect(await first.value == .erased(jobID: nil))
        // The slot was not lost to the cancelled waiter.
        #expect(await pipeline.apply(Fixture.event(3)) == .erased(jobID: nil))
        #expect(destination.calls.withLock { $0 } == 2)
    }

    @Test func aVendorWaitLongerThanMaxRetryAfterIsCut() async throws {
        let destination = Scripted { call in
            call == 1 ? .transient(reason: "HTTP 429", retryAfter: .seconds(86_400)) : .erased(jobID: nil)
        }
        let pipeline = pipeline(destination, DestinationLimits(concurrency: 4, maxVendorWait: .milliseconds(300)))
        #expect(await pipeline.apply(Fixture.event(1)).isTransient)
        let started = ContinuousClock.now
        #expect(await pipeline.apply(Fixture.event(2)) == .erased(jobID: nil))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(250) && waited < .seconds(5), "waited \(waited)")
    }
}
