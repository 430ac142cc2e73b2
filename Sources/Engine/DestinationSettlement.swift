/// How one destination ended for one event after its retries.
package struct DestinationSettlement: Sendable, Equatable {
    package enum State: Sendable, Equatable {
        /// Erased, or already gone.
        case settled
        /// Still owes the erasure: permanent failure or retries exhausted.
        case owed(reason: String)
        /// Not finished (cancelled): the event must not be committed.
        case abandoned
    }

    package var name: String
    package var state: State
    package var attempts: Int

    package init(name: String, state: State, attempts: Int) {
        self.name = name
        self.state = state
        self.attempts = attempts
    }

    /// The destination as owed, when it still owes the erasure.
    package var owed: OwedDestination? {
        guard case .owed(let reason) = state else { return nil }
        return OwedDestination(name: name, reason: reason, attempts: attempts)
    }
}
