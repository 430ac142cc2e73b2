/// A token bucket: `rate` calls per second sustained, up to `burst` at once.
actor RateLimiter {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        self.tokens = Double(max(1, burst))
        self.last = .now
    }

    /// Waits until a call may go. Callers are served in the order they reserve a token. Throws
    /// `CancellationError` when cancelled while waiting; the reserved token is given back.
    func acquire() async throws {
        refill()
        tokens -= 1
        if tokens >= 0 { return }
        // Reserve: the debt is paid back at `rate`; sleep until this caller's token exists.
        let wait = -tokens / rate
        do {
            try await Task.sleep(for: .seconds(wait))
        } catch {
            tokens += 1
            throw error
        }
    }

    private func refill() {
        let now = ContinuousClock.now
        let elapsed = (now - last).seconds
        last = now
        tokens = min(burst, tokens + elapsed * rate)
    }
}
