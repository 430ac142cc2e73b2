/// A configuration value as read from YAML (after `_env` / `_file` indirection), independent of
/// the YAML library.
package indirect enum ConfigValue: Sendable, Equatable {
    case null
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case list([ConfigValue])
    case map([String: ConfigValue])

    /// The text that stands for a value whose `_env` / `_file` indirection failed (the failure is
    /// reported once, at the indirection): readers check nothing more about it.
    package static let unresolvedText = "<unresolved>"

    /// The value's kind, for error messages.
    package var kind: String {
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
    package var scalarText: String? {
        switch self {
        case .string(let text): text
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        default: nil
        }
    }
}
