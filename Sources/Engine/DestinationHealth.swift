import Synchronization

/// Which destinations are in configuration error (credentials refused, bad settings).
/// Readiness is false while any is.
package final class DestinationHealth: Sendable {
    private let errors = Mutex<[String: String]>([:])
    private let onChange: (@Sendable (String, Bool) -> Void)?

    /// `onChange(name, ready)` is called when a destination's readiness changes.
    package init(onChange: (@Sendable (String, Bool) -> Void)? = nil) {
        self.onChange = onChange
    }

    /// Returns `true` when this call changed the state.
    @discardableResult
    package func markConfigurationError(_ destination: String, reason: String) -> Bool {
        let changed = errors.withLock { state in
            let was = state[destination] == nil
            state[destination] = reason
            return was
        }
        if changed { onChange?(destination, false) }
        return changed
    }

    @discardableResult
    package func markHealthy(_ destination: String) -> Bool {
        let changed = errors.withLock { $0.removeValue(forKey: destination) != nil }
        if changed { onChange?(destination, true) }
        return changed
    }

    /// Destinations in configuration error, with the reason.
    package var configurationErrors: [String: String] {
        errors.withLock { $0 }
    }

    package var allReady: Bool {
        errors.withLock { $0.isEmpty }
    }
}
