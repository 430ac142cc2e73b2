/// A configuration file read and resolved: its values, and the problems found while resolving
/// `_env` / `_file` indirections (reported later together with every other problem).
public struct ConfigDocument: Sendable {
    public var values: [String: ConfigValue]
    public var problems: ConfigProblems

    public init(values: [String: ConfigValue], problems: ConfigProblems = ConfigProblems()) {
        self.values = values
        self.problems = problems
    }
}
