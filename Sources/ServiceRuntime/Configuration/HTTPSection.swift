import ConfigFile
import Foundation

extension ServiceConfiguration {
    /// `http:` (docs/contract.md#config-http).
    package struct HTTPSection: Sendable {
        /// `listen`'s host (brackets of an IPv6 address removed).
        package var host: String
        /// `listen`'s port.
        package var port: Int
        package var enabled: Bool
        /// `/healthz` fails when the poll loop has not turned for this long.
        package var livenessTimeout: Duration

        /// Reads `http:` (an empty reader when the section is absent: every default).
        package init(reader h: SettingsReader) {
            let listen = h.string("listen", or: "127.0.0.1:9464")
            enabled = h.bool("enabled", default: true)
            livenessTimeout = h.duration("liveness_timeout", default: .seconds(60), minimum: .seconds(1))
            if let colon = listen.lastIndex(of: ":"), let number = Int(listen[listen.index(after: colon)...]), (0...65535).contains(number) {
                host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                port = number
            } else {
                h.problems.add(h.keyPath("listen"), "must be host:port, got \"\(listen)\"")
                host = "127.0.0.1"
                port = 9464
            }
            h.finish()
        }
    }
}
