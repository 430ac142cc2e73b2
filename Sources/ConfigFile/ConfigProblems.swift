/// Collects configuration problems: one clear message per problem, naming the key and why.
/// Shared by the readers of one configuration (a reference on purpose), read once at the end.
package final class ConfigProblems: @unchecked Sendable {
    package private(set) var messages: [String] = []

    package init(_ messages: [String] = []) {
        self.messages = messages
    }

    package func add(_ path: String, _ why: String) {
        messages.append("\(path): \(why)")
    }

    package var isEmpty: Bool { messages.isEmpty }
}
