/// A destination that still owes an event's erasure, as named in a dead-letter record.
package struct OwedDestination: Sendable, Equatable {
    package var name: String
    /// Why, without personal data.
    package var reason: String
    package var attempts: Int

    package init(name: String, reason: String, attempts: Int) {
        self.name = name
        self.reason = reason
        self.attempts = attempts
    }
}
