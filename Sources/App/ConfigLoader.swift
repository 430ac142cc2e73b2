import Destinations
import Foundation
import Yams

/// Reads the YAML config file into ``ConfigValue``s and resolves `KEY_env: VAR` and
/// `KEY_file: PATH` indirections (contract §4), so secrets never need to sit in the YAML.
public enum ConfigLoader {
    public struct Failure: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// Loads and resolves a file. Throws ``Failure`` with one message per problem.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> [String: ConfigValue]
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(problems: ["\(path): cannot read the config file"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(problems: ["\(path): the config file is not UTF-8"])
        }
        return try parse(yaml: text, environment: environment)
    }

    public static func parse(yaml: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> [String: ConfigValue]
    {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw Failure(problems: ["config: not valid YAML: \(error)"])
        }
        guard let node else { throw Failure(problems: ["config: the file is empty"]) }
        let problems = ConfigProblems()
        let value = resolve(convert(node), path: "", environment: environment, problems: problems)
        guard problems.isEmpty else { throw Failure(problems: problems.messages) }
        guard case .map(let map) = value else { throw Failure(problems: ["config: the top level must be a mapping"]) }
        return map
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
                    if map[base] != nil {
                        problems.add(basePath, "set both directly and through '\(key)'; keep one")
                        continue
                    }
                    if isEnv, map[base + "_file"] != nil {
                        problems.add(basePath, "set through both '\(base)_env' and '\(base)_file'; keep one")
                        continue
                    }
                    guard case .string(let source) = item, !source.isEmpty else {
                        problems.add(itemPath, "must name \(isEnv ? "an environment variable" : "a file")")
                        continue
                    }
                    if isEnv {
                        guard let text = environment[source] else {
                            problems.add(itemPath, "environment variable \(source) is not set")
                            continue
                        }
                        result[base] = .string(text)
                    } else {
                        guard let data = FileManager.default.contents(atPath: source), var text = String(data: data, encoding: .utf8)
                        else {
                            problems.add(itemPath, "cannot read file \(source)")
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
