import Foundation

/// Durations in the configuration: `500ms`, `30s`, `5m`, `2h`, `7d`.
package enum DurationText {
    package static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard !number.isEmpty, let value = Double(number), value >= 0, value.isFinite else { return nil }
            // "5m" must not be read as "5" + "m"s of "ms": check the longer suffix first (done by order).
            return .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        return nil
    }
}
