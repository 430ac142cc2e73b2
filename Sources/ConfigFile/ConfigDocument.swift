/// A configuration file read and resolved: its values, and the problems found while resolving
/// `_env` / `_file` indirections (reported later together with every other problem).
package struct ConfigDocument: Sendable {
    package var values: [String: ConfigValue]
    package var problems: ConfigProblems

    package init(values: [String: ConfigValue], problems: ConfigProblems = ConfigProblems()) {
        self.values = values
        self.problems = problems
    }
}
