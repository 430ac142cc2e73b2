/// Reads one mapping of the configuration with typed accessors; every problem goes to
/// ``ConfigProblems`` with the full key path, and keys nobody asked for are reported by ``finish()``.
package final class SettingsReader {
    package let path: String
    package let values: [String: ConfigValue]
    package let problems: ConfigProblems
    private var used: Set<String> = []

    package init(path: String, values: [String: ConfigValue], problems: ConfigProblems) {
        self.path = path
        self.values = values
        self.problems = problems
    }

    package func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func take(_ key: String) -> ConfigValue? {
        used.insert(key)
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    /// Marks keys as known without reading them.
    package func allow(_ keys: String...) {
        used.formUnion(keys)
    }

    package func has(_ key: String) -> Bool {
        if let value = values[key] { return value != .null }
        return false
    }

    package func string(_ key: String, default defaultValue: String? = nil, required: Bool = false) -> String? {
        guard let value = take(key) else {
            if required, defaultValue == nil { problems.add(keyPath(key), "required") }
            return defaultValue
        }
        guard case .string(let text) = value else {
            if let text = value.scalarText, case .int = value { return text }
            problems.add(keyPath(key), "must be a string, got \(value.kind)")
            return defaultValue
        }
        if required, text.isEmpty { problems.add(keyPath(key), "must not be empty") }
        return text
    }

    package func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int> = Int.min...Int.max) -> Int {
        guard let value = take(key) else { return defaultValue }
        guard case .int(let number) = value else {
            problems.add(keyPath(key), "must be an integer, got \(value.kind)")
            return defaultValue
        }
        guard range.contains(number) else {
            problems.add(keyPath(key), "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
            return defaultValue
        }
        return number
    }

    package func double(_ key: String, default defaultValue: Double?, range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude) -> Double? {
        guard let value = take(key) else { return defaultValue }
        let number: Double
        switch value {
        case .int(let i): number = Double(i)
        case .double(let d): number = d
        default:
            problems.add(keyPath(key), "must be a number, got \(value.kind)")
            return defaultValue
        }
        guard range.contains(number) else {
            problems.add(keyPath(key), "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
            return defaultValue
        }
        return number
    }

    package func bool(_ key: String, default defaultValue: Bool) -> Bool {
        guard let value = take(key) else { return defaultValue }
        guard case .bool(let flag) = value else {
            problems.add(keyPath(key), "must be true or false, got \(value.kind)")
            return defaultValue
        }
        return flag
    }

    /// A duration string (`500ms`, `30s`, `5m`, `2h`, `1d`).
    package func duration(_ key: String, default defaultValue: Duration, minimum: Duration = .zero) -> Duration {
        guard let value = take(key) else { return defaultValue }
        guard case .string(let text) = value, let duration = DurationText.parse(text) else {
            problems.add(keyPath(key), "must be a duration like \"500ms\", \"30s\", \"5m\", got \(value.scalarText.map { "\"\($0)\"" } ?? value.kind)")
            return defaultValue
        }
        guard duration >= minimum else {
            problems.add(keyPath(key), "must be at least \(minimum)")
            return defaultValue
        }
        return duration
    }

    package func stringList(_ key: String, default defaultValue: [String] = [], required: Bool = false) -> [String] {
        guard let value = take(key) else {
            if required { problems.add(keyPath(key), "required") }
            return defaultValue
        }
        guard case .list(let items) = value else {
            problems.add(keyPath(key), "must be a list of strings, got \(value.kind)")
            return defaultValue
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.scalarText else {
                problems.add("\(keyPath(key))[\(index)]", "must be a string, got \(item.kind)")
                continue
            }
            result.append(text)
        }
        if required, result.isEmpty { problems.add(keyPath(key), "must not be empty") }
        return result
    }

    /// A mapping of scalars, as strings (e.g. `kafka.properties`).
    package func stringMap(_ key: String) -> [String: String] {
        guard let value = take(key) else { return [:] }
        guard case .map(let map) = value else {
            problems.add(keyPath(key), "must be a mapping, got \(value.kind)")
            return [:]
        }
        var result: [String: String] = [:]
        for (name, item) in map {
            guard let text = item.scalarText else {
                problems.add("\(keyPath(key)).\(name)", "must be a scalar, got \(item.kind)")
                continue
            }
            result[name] = text
        }
        return result
    }

    /// A string with a default: the default is written once, at the call.
    package func string(_ key: String, or defaultValue: String) -> String {
        string(key, default: defaultValue) ?? defaultValue
    }

    /// One of an enumeration's raw values; problems name every allowed value.
    package func choice<E: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: E) -> E where E.RawValue == String {
        let name = string(key, or: defaultValue.rawValue)
        if let value = E(rawValue: name) { return value }
        let names = E.allCases.map(\.rawValue)
        let list = names.count <= 2 ? names.joined(separator: " or ") : names.dropLast().joined(separator: ", ") + " or " + names.last!
        problems.add(keyPath(key), "must be \(list), got \"\(name)\"")
        return defaultValue
    }

    /// One of a fixed set of names, mapped to its value (e.g. a region to its host).
    package func choice<T>(_ key: String, default defaultName: String, _ options: KeyValuePairs<String, T>) -> T {
        let name = string(key, or: defaultName)
        if let match = options.first(where: { $0.key == name }) { return match.value }
        problems.add(keyPath(key), "must be \(options.map(\.key).joined(separator: " or ")), got \"\(name)\"")
        return options.first(where: { $0.key == defaultName })!.value
    }

    /// A nested mapping; `nil` when absent.
    package func section(_ key: String) -> SettingsReader? {
        guard let value = take(key) else { return nil }
        guard case .map(let map) = value else {
            problems.add(keyPath(key), "must be a mapping, got \(value.kind)")
            return nil
        }
        return SettingsReader(path: keyPath(key), values: map, problems: problems)
    }

    /// A nested mapping of optional keys: an absent one reads as an empty mapping (every default).
    package func sectionOrEmpty(_ key: String) -> SettingsReader {
        section(key) ?? SettingsReader(path: keyPath(key), values: [:], problems: problems)
    }

    /// A list of mappings.
    package func sections(_ key: String) -> [SettingsReader] {
        guard let value = take(key) else { return [] }
        guard case .list(let items) = value else {
            problems.add(keyPath(key), "must be a list, got \(value.kind)")
            return []
        }
        var result: [SettingsReader] = []
        for (index, item) in items.enumerated() {
            guard case .map(let map) = item else {
                problems.add("\(keyPath(key))[\(index)]", "must be a mapping, got \(item.kind)")
                continue
            }
            result.append(SettingsReader(path: "\(keyPath(key))[\(index)]", values: map, problems: problems))
        }
        return result
    }

    /// Reports every key that no accessor read: typos must not pass silently.
    package func finish() {
        for key in values.keys.sorted() where !used.contains(key) {
            problems.add(keyPath(key), "unknown key")
        }
    }
}
