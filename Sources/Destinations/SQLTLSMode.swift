import ConfigFile

extension SQLDestination {
    /// `tls:` of the sql destination. There is no `prefer`: a connection that silently falls
    /// back to plain text would send the learner's identity and the password in clear.
    package enum TLSMode: String, Sendable, CaseIterable {
        /// TLS, the server's certificate chain and host name verified (the default).
        case require
        /// Plain text, for a server on the same host or a network the operator trusts.
        case disable

        /// libpq's `sslmode` in a `url`: `require`, `verify-ca` and `verify-full` all verify the
        /// certificate and the host name here (stricter than libpq's `require`).
        static func fromSSLMode(_ value: String) -> Result<TLSMode, SSLModeRefused> {
            switch value {
            case "disable": .success(.disable)
            case "require", "verify-ca", "verify-full": .success(.require)
            case "allow", "prefer":
                .failure(SSLModeRefused("sslmode=\(value) would fall back to plain text without telling; use require (verified) or disable"))
            default: .failure(SSLModeRefused("sslmode must be disable, require, verify-ca or verify-full"))
            }
        }

        /// `tls`, or the url's `sslmode` when `tls` is not set; both set and different is a problem.
        static func read(_ reader: SettingsReader, fromURL: TLSMode?) -> TLSMode {
            guard let text = reader.string("tls") else { return fromURL ?? .require }
            guard let mode = TLSMode(rawValue: text) else {
                let why =
                    text == "prefer"
                    ? "prefer is not supported: it falls back to plain text without telling; use require or disable"
                    : "must be require or disable, got \"\(text)\""
                reader.problems.add(reader.keyPath("tls"), why)
                return .require
            }
            if let fromURL, fromURL != mode {
                reader.problems.add(reader.keyPath("tls"), "is \(mode.rawValue) but the url's sslmode says \(fromURL.rawValue)")
            }
            return mode
        }
    }

    /// Why a url's `sslmode` is refused.
    struct SSLModeRefused: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
