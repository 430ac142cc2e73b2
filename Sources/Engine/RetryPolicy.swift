/// Exponential backoff with full jitter, honouring a destination's own wait signal.
package struct RetryPolicy: Sendable, Equatable {
    package var initialBackoff: Duration
    package var maxBackoff: Duration
    /// Attempts per destination before the event is dead-lettered for it.
    package var maxAttempts: Int
    /// The longest wait a `Retry-After` may impose; longer ones are cut to this.
    package var maxRetryAfter: Duration

    package init(
        initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(300), maxAttempts: Int = 10,
        maxRetryAfter: Duration = .seconds(3600)
    ) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxAttempts = maxAttempts
        self.maxRetryAfter = maxRetryAfter
    }

    /// The ceiling of the jittered wait after the `attempt`-th failure (1-based):
    /// `min(maxBackoff, initialBackoff * 2^(attempt-1))`.
    package func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let seconds = initialBackoff.seconds * Double(UInt64(1) << UInt64(exponent))
        return .seconds(min(seconds, maxBackoff.seconds))
    }

    /// The wait before the next attempt: uniform in `[0, ceiling]` ("full jitter"), but never
    /// shorter than `retryAfter` when the destination sent one.
    package func delay<R: RandomNumberGenerator>(
        afterAttempt attempt: Int, retryAfter: Duration?, using random: inout R
    )
        -> Duration
    {
        let ceiling = ceiling(afterAttempt: attempt).seconds
        let jittered = Duration.seconds(ceiling > 0 ? Double.random(in: 0...ceiling, using: &random) : 0)
        guard let retryAfter else { return jittered }
        let honoured = min(retryAfter, maxRetryAfter)
        return max(jittered, honoured)
    }

    package func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &random)
    }
}
