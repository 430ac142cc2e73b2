/// Per-destination limits: how many calls at once, how many per second, how long a batch waits to fill.
public struct DestinationLimits: Sendable, Equatable {
    /// Calls in flight at once.
    public var concurrency: Int
    /// Sustained calls per second (`nil`: unlimited).
    public var requestsPerSecond: Double?
    /// Calls that may go at once after a quiet time.
    public var burst: Int
    /// How long a batch waits for more events before it is sent.
    public var linger: Duration
    /// Consecutive failing calls that open the circuit.
    public var circuitFailureThreshold: Int
    /// How long an open circuit waits before a probe.
    public var circuitOpenDuration: Duration

    public init(
        concurrency: Int = 16, requestsPerSecond: Double? = nil, burst: Int = 1, linger: Duration = .milliseconds(50),
        circuitFailureThreshold: Int = 20, circuitOpenDuration: Duration = .seconds(10)
    ) {
        self.concurrency = concurrency
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.linger = linger
        self.circuitFailureThreshold = circuitFailureThreshold
        self.circuitOpenDuration = circuitOpenDuration
    }
}
