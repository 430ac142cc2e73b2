/// How the engine left an event.
package enum EventResult: Sendable, Equatable {
    /// Every destination settled.
    case erased
    /// Written to the dead-letter topic (bad input, or destinations still owed).
    case deadLettered
    /// Not finished (revoked or shutting down): must not be committed; it will come again.
    case abandoned
}
