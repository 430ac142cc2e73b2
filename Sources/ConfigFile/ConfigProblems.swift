/// Collects configuration problems: one clear message per problem, naming the key and why.
/// Shared by the readers of one configuration (a reference on purpose), read once at the end.
public final class ConfigProblems: @unchecked Sendable {
    public private(set) var messages: [String] = []

    public init(_ messages: [String] = []) {
        self.messages = messages
    }

    public func add(_ path: String, _ why: String) {
        messages.append("\(path): \(why)")
    }

    public var isEmpty: Bool { messages.isEmpty }
}
