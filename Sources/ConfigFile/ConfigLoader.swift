import Foundation
import Yams

/// Reads the YAML config file into ``ConfigValue``s and resolves `KEY_env: VAR` and
/// `KEY_file: PATH` indirections (docs/contract.md#config-indirection), so secrets never need to sit in the YAML.
package enum ConfigLoader {
    package struct Failure: Error, CustomStringConvertible {
        package var problems: [String]
        package var description: String { problems.joined(separator: "\n") }

        package init(problems: [String]) {
            self.problems = problems
        }
    }

    /// Loads and resolves a file. Throws ``Failure`` when the file cannot be read or parsed at all;
    /// problems of single keys (an unset environment variable, an unreadable file) come back in
    /// the document, to be reported with every other problem.
    /// - Parameter skipDestinations: leave `destinations` out (for subcommands that do not call them,
    ///   so their secrets need not be present).
    package static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment, skipDestinations: Bool = false
    ) throws -> ConfigDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(problems: ["\(path): cannot read the config file"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(problems: ["\(path): the config file is not UTF-8"])
        }
        return try parse(yaml: text, environment: environment, skipDestinations: skipDestinations)
    }

    package static func parse(
        yaml: String, environment: [String: String] = ProcessInfo.processInfo.environment, skipDestinations: Bool = false
    ) throws -> ConfigDocument {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw Failure(problems: ["config: not valid YAML: \(Self.describe(yamlError: error))"])
        }
        guard let node else { throw Failure(problems: ["config: the file is empty"]) }
        let problems = ConfigProblems()
        var tree = convert(node)
        if skipDestinations, case .map(var map) = tree {
            map.removeValue(forKey: "destinations")
            tree = .map(map)
        }
        let value = resolve(tree, path: "", environment: environment, problems: problems)
        guard case .map(let map) = value else { throw Failure(problems: ["config: the top level must be a mapping"]) }
        return ConfigDocument(values: map, problems: problems)
    }

    static func convert(_ node: Node) -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if node.null != nil, scalar.string.isEmpty || ["null", "~", "Null", "NULL"].contains(scalar.string) { return .null }
                if let bool = node.bool { return .bool(bool) }
                if let int = node.int { return .int(int) }
                if let double = node.float { return .double(double) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .list(sequence.map(convert))
        case .mapping(let mapping):
            var map: [String: ConfigValue] = [:]
            for (key, value) in mapping {
                map[key.string ?? "\(key)"] = convert(value)
            }
            return .map(map)
        case .alias:
            return .null
        }
    }

    /// Replaces `X_env` and `X_file` keys by `X` with the value read from the environment or file.
    static func resolve(_ value: ConfigValue, path: String, environment: [String: String], problems: ConfigProblems) -> ConfigValue {
        switch value {
        case .map(let map):
            var result: [String: ConfigValue] = [:]
            for (key, item) in map {
                let itemPath = path.isEmpty ? key : "\(path).\(key)"
                if key.hasSuffix("_env") || key.hasSuffix("_file") {
                    let isEnv = key.hasSuffix("_env")
                    let base = String(key.dropLast(isEnv ? 4 : 5))
                    let basePath = path.isEmpty ? base : "\(path).\(base)"
                    // A key that cannot be resolved gets a placeholder, so it is reported once, here.
                    let unresolved = ConfigValue.string(ConfigValue.unresolvedText)
                    if map[base] != nil {
                        problems.add(basePath, "set both directly and through '\(key)'; keep one")
                        continue
                    }
                    if isEnv, map[base + "_file"] != nil {
                        problems.add(basePath, "set through both '\(base)_env' and '\(base)_file'; keep one")
                        result[base] = unresolved
                        continue
                    }
                    guard case .string(let source) = item, !source.isEmpty else {
                        problems.add(itemPath, "must name \(isEnv ? "an environment variable" : "a file")")
                        result[base] = unresolved
                        continue
                    }
                    if isEnv {
                        guard let text = environment[source] else {
                            problems.add(itemPath, "environment variable \(source) is not set")
                            result[base] = unresolved
                            continue
                        }
                        result[base] = .string(text)
                    } else {
                        guard let data = FileManager.default.contents(atPath: source), var text = String(data: data, encoding: .utf8)
                        else {
                            problems.add(itemPath, "cannot read file \(source)")
                            result[base] = unresolved
                            continue
                        }
                        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                        result[base] = .string(text)
                    }
                } else {
                    result[key] = resolve(item, path: itemPath, environment: environment, problems: problems)
                }
            }
            return .map(result)
        case .list(let items):
            return .list(items.enumerated().map { resolve($1, path: "\(path)[\($0)]", environment: environment, problems: problems) })
        default:
            return value
        }
    }
}

extension ConfigLoader {
    /// A YAML error without the offending line: Yams quotes it, and the line may hold a secret
    /// (a password or token written in the file). The position is enough to find it.
    static func describe(yamlError error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "the YAML could not be read" }
        func at(_ mark: Mark) -> String { "line \(mark.line), column \(mark.column)" }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return "\(problem) at \(at(mark))" + (context.map { " (\($0.text) from \(at($0.mark)))" } ?? "")
        case .reader(let problem, let offset, _, _):
            return "\(problem)" + (offset.map { " at byte \($0)" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "duplicate keys \(duplicates.sorted().joined(separator: ", ")) at \(at(context.mark))"
        default:
            return "the YAML could not be read"
        }
    }
}
