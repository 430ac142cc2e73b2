import Synchronization

/// Collects configuration problems: one clear message per problem, naming the key and why.
/// Shared by the readers of one configuration (a reference on purpose), read once at the end.
package final class ConfigProblems: Sendable {
    private let collected: Mutex<[String]>

    package init(_ messages: [String] = []) {
        collected = Mutex(messages)
    }

    /// Every problem so far, in the order they were found.
    package var messages: [String] { collected.withLock { $0 } }

    package func add(_ path: String, _ why: String) {
        collected.withLock { $0.append("\(path): \(why)") }
    }

    package var isEmpty: Bool { collected.withLock { $0.isEmpty } }
}
