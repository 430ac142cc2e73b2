/// Per-destination limits: how many calls at once, how many per second, how long a batch waits to fill.
package struct DestinationLimits: Sendable, Equatable {
    /// Calls in flight at once.
    package var concurrency: Int
    /// Sustained calls per second (`nil`: unlimited).
    package var requestsPerSecond: Double?
    /// Calls that may go at once after a quiet time.
    package var burst: Int
    /// How long a batch waits for more events before it is sent.
    package var linger: Duration
    /// Consecutive failing calls that open the circuit.
    package var circuitFailureThreshold: Int
    /// How long an open circuit waits before a probe.
    package var circuitOpenDuration: Duration
    /// The deadline of one call (`processing.call_timeout`, or the destination's `call_timeout`):
    /// past it the call's events count as a transient failure, though the call keeps its
    /// concurrency slot until it really ends.
    package var callTimeout: Duration
    /// The longest a vendor's wait signal (`Retry-After`, reset headers) may hold the destination
    /// (`processing.retry.max_retry_after`); longer ones are cut to it and logged.
    package var maxVendorWait: Duration

    package init(
        concurrency: Int = 16, requestsPerSecond: Double? = nil, burst: Int = 1, linger: Duration = .milliseconds(50),
        circuitFailureThreshold: Int = 20, circuitOpenDuration: Duration = .seconds(10), callTimeout: Duration = .seconds(30),
        maxVendorWait: Duration = .seconds(3600)
    ) {
        self.concurrency = concurrency
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.linger = linger
        self.circuitFailureThreshold = circuitFailureThreshold
        self.circuitOpenDuration = circuitOpenDuration
        self.callTimeout = callTimeout
        self.maxVendorWait = maxVendorWait
    }
}
