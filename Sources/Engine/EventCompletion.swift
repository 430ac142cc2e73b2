/// How an event left the engine, as the `outcome` label of `retirement_events_completed_total`.
package enum EventCompletion: String, Sendable, CaseIterable {
    /// Every destination erased it (or never knew the learner).
    case erased
    /// Dead-lettered for the destinations that still owe it.
    case deadLettered = "dead_lettered"
    /// Not a valid event: dead-lettered with its bad-input code.
    case badInput = "bad_input"
}
