/// The cached OAuth token, shared by concurrent calls.
actor SalesforceSession {
    struct Token: Sendable {
        var accessToken: String
        var instanceURL: String
    }

    private var current: Token?

    /// The cached token, unless it is the one a caller saw refused (`unless`).
    func token(unless stale: String?) -> Token? {
        guard let current else { return nil }
        if let stale, current.accessToken == stale { self.current = nil; return nil }
        return current
    }

    func store(_ token: Token) { current = token }
}
