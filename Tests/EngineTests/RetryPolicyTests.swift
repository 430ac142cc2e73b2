import Engine
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(initialBackoff: .seconds(1), maxBackoff: .seconds(60), maxAttempts: 10, maxRetryAfter: .seconds(600))

    @Test func ceilingDoublesUpToTheMaximum() {
        #expect(policy.ceiling(afterAttempt: 1) == .seconds(1))
        #expect(policy.ceiling(afterAttempt: 2) == .seconds(2))
        #expect(policy.ceiling(afterAttempt: 6) == .seconds(32))
        #expect(policy.ceiling(afterAttempt: 7) == .seconds(60))
        #expect(policy.ceiling(afterAttempt: 500) == .seconds(60))
    }

    @Test func fullJitterStaysWithinTheCeilingAndSpreads() {
        var values: [Double] = []
        for _ in 0..<2000 {
            let delay = policy.delay(afterAttempt: 4, retryAfter: nil)
            #expect(delay >= .zero && delay <= .seconds(8))
            values.append(delay.seconds)
        }
        // Full jitter is uniform on [0, 8]: the mean is near 4 and both halves are used.
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(mean > 3.4 && mean < 4.6)
        #expect(values.contains { $0 < 1 } && values.contains { $0 > 7 })
    }

    @Test func retryAfterIsAFloor() {
        for _ in 0..<200 {
            let delay = policy.delay(afterAttempt: 1, retryAfter: .seconds(30))
            #expect(delay == .seconds(30))
        }
        // A Retry-After shorter than the jitter does not shorten the wait below the jitter's pick.
        for _ in 0..<200 {
            let delay = policy.delay(afterAttempt: 6, retryAfter: .milliseconds(10))
            #expect(delay >= .milliseconds(10) && delay <= .seconds(32))
        }
    }

    @Test func absurdRetryAfterIsCapped() {
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1_000_000)) == .seconds(600))
    }
}
