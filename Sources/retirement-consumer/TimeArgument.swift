import ArgumentParser
import ConfigFile
import Destinations
import Foundation
import RetirementEvent
import ServiceRuntime

/// A time given as RFC 3339 (`2026-11-01T00:00:00Z`) or as a duration back from now (`24h`, `7d`).
struct TimeArgument: ExpressibleByArgument {
    /// Milliseconds since the epoch.
    let milliseconds: Int64

    init?(argument: String) {
        if let seconds = RFC3339.parse(argument) {
            milliseconds = Int64((seconds * 1000).rounded())
        } else if let back = DurationText.parse(argument) {
            let components = back.components
            let backMs = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
            milliseconds = Int64(Date().timeIntervalSince1970 * 1000) - backMs
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// Formats epoch milliseconds as RFC 3339.
func rfc3339(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}
