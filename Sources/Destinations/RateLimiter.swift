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

    /// Waits until a call may go. Callers are served in the order they reserve a token.
    func acquire() async {
        refill()
        tokens -= 1
        if tokens >= 0 { return }
        // Reserve: the debt is paid back at `rate`; sleep until this caller's token exists.
        let wait = -tokens / rate
        try? await Task.sleep(for: .seconds(wait))
    }

    private func refill() {
        let now = ContinuousClock.now
        let elapsed = (now - last).secondsValue
        last = now
        tokens = min(burst, tokens + elapsed * rate)
    }

    /// Pushes the next allowed call back by `delay` (the vendor asked us to wait).
    func backOff(_ delay: Duration) {
        refill()
        tokens = min(tokens, 0) - delay.secondsValue * rate
    }
}

extension Duration {
    var secondsValue: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
