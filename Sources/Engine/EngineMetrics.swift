import Metrics
import Synchronization

/// The engine's metrics, created once and reused (swift-metrics; the backend is chosen by the executable).
package final class EngineMetrics: Sendable {
    package let consumed = Counter(label: "retirement_events_consumed_total")
    package let inFlight = Gauge(label: "retirement_events_in_flight")
    package let partitionsPaused = Gauge(label: "retirement_partitions_paused")
    package let partitionsAssigned = Gauge(label: "retirement_partitions_assigned")
    package let deadLetterWriteFailures = Counter(label: "retirement_dead_letter_write_failures_total")
    /// Valid events whose personal fields arrived in clear, not encrypted (docs/encryption.md).
    package let plaintextEvents = Counter(label: "retirement_events_plaintext_total")
    /// Plain events refused as `not_encrypted` because `encryption.required` is on: each one is
    /// an erasure order that no holder of the keyring sealed (docs/encryption.md).
    package let refusedPlaintextEvents = Counter(label: "retirement_events_refused_plaintext_total")
    private let completed: [EventCompletion: Counter]
    private let perDestination = Mutex<[String: DestinationMetrics]>([:])
    private let deadLetters = Mutex<[String: Counter]>([:])

    struct DestinationMetrics {
        var outcomes: [String: Counter]
        var retries: Counter
        var latency: Timer
        var ready: Gauge
    }

    package init() {
        var completed: [EventCompletion: Counter] = [:]
        for outcome in EventCompletion.allCases {
            completed[outcome] = Counter(label: "retirement_events_completed_total", dimensions: [("outcome", outcome.rawValue)])
        }
        self.completed = completed
    }

    package func completed(_ outcome: EventCompletion) {
        completed[outcome]?.increment()
    }

    package func deadLettered(reasonCode: String) {
        if reasonCode == "not_encrypted" { refusedPlaintextEvents.increment() }
        let counter = deadLetters.withLock { map in
            if let counter = map[reasonCode] { return counter }
            let counter = Counter(label: "retirement_dead_letters_total", dimensions: [("reason", reasonCode)])
            map[reasonCode] = counter
            return counter
        }
        counter.increment()
    }

    private func destination(_ name: String) -> DestinationMetrics {
        perDestination.withLock { map in
            if let metrics = map[name] { return metrics }
            var outcomes: [String: Counter] = [:]
            for outcome in ["erased", "already_gone", "transient", "permanent", "config_error"] {
                outcomes[outcome] = Counter(
                    label: "retirement_destination_outcomes_total", dimensions: [("destination", name), ("outcome", outcome)])
            }
            let metrics = DestinationMetrics(
                outcomes: outcomes,
                retries: Counter(label: "retirement_destination_retries_total", dimensions: [("destination", name)]),
                latency: Timer(label: "retirement_destination_latency_seconds", dimensions: [("destination", name)], preferredDisplayUnit: .seconds),
                ready: Gauge(label: "retirement_destination_ready", dimensions: [("destination", name)]))
            metrics.ready.record(1)
            map[name] = metrics
            return metrics
        }
    }

    /// Registers a destination so its series exist from the start.
    package func register(destination name: String) {
        _ = destination(name)
    }

    package func outcome(_ outcome: ErasureOutcome, destination name: String, latency: Duration) {
        let metrics = destination(name)
        metrics.outcomes[outcome.label]?.increment()
        metrics.latency.recordNanoseconds(Int64(latency.seconds * 1e9))
    }

    package func retry(destination name: String) {
        destination(name).retries.increment()
    }

    package func ready(destination name: String, _ ready: Bool) {
        destination(name).ready.record(ready ? 1 : 0)
    }
}
