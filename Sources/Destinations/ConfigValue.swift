/// A configuration value as read from YAML (after `_env` / `_file` indirection), independent of
/// the YAML library.
public indirect enum ConfigValue: Sendable, Equatable {
    case null
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case list([ConfigValue])
    case map([String: ConfigValue])

    /// The value's kind, for error messages.
    public var kind: String {
        switch self {
        case .null: "null"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "a boolean"
        case .list: "a list"
        case .map: "a mapping"
        }
    }

    /// Scalars as text (numbers and booleans too), for string-typed settings like properties.
    public var scalarText: String? {
        switch self {
        case .string(let text): text
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        default: nil
        }
    }
}

/// Collects configuration problems: one clear message per problem, naming the key and why.
public final class ConfigProblems: @unchecked Sendable {
    public private(set) var messages: [String] = []

    public init() {}

    public func add(_ path: String, _ why: String) {
        messages.append("\(path): \(why)")
    }

    public var isEmpty: Bool { messages.isEmpty }
}

/// Parses durations like `500ms`, `30s`, `5m`, `2h`, `7d`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
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

import Foundation
