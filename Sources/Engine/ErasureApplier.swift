import RetirementEvent

/// What the engine sees of one configured destination: apply one event, get an outcome.
/// The Destinations module provides implementations with batching, rate limits and a circuit breaker.
package protocol ErasureApplier: Sendable {
    /// The destination's configured name (used in dead-letter headers, metrics and receipts).
    var name: String { get }
    /// Erases the learner of `event`. Must be idempotent: the same event may come again.
    /// Honours task cancellation where it can (returns promptly with any outcome).
    func apply(_ event: RetirementEvent) async -> ErasureOutcome
    /// Erases now, on the calling thread, when nothing would make the call wait (no network, no
    /// limit to wait for); `nil`, having done nothing, when it would: the caller then awaits
    /// ``apply(_:)``. The outcome counts as an attempt like one of ``apply(_:)``.
    func applyImmediately(_ event: RetirementEvent) -> ErasureOutcome?
}

extension ErasureApplier {
    package func applyImmediately(_ event: RetirementEvent) -> ErasureOutcome? { nil }
}
