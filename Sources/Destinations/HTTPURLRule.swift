import ConfigFile
import Foundation

/// Which URLs an HTTP destination may call: `https://`, or `http://` to a loopback address
/// (127.0.0.0/8, `::1`, `localhost`: a sidecar or a local test server). Plain `http://` to any
/// other host would send the learner's identity and the credentials in clear, so it needs the
/// destination's `allow_insecure_http: true`.
package enum HTTPURLRule {
    /// Whether `host` is a loopback address.
    package static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Checks `key`'s URL (already read from `reader`) and reads `allow_insecure_http`; a problem
    /// names the key, never the URL (it may carry a token in its query).
    package static func check(_ url: String, key: String, reader: SettingsReader) {
        let allowInsecure = reader.bool("allow_insecure_http", default: false)
        guard !url.isEmpty else { return }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else {
            reader.problems.add(reader.keyPath(key), "must be an http:// or https:// URL")
            return
        }
        if scheme == "http", !allowInsecure, !isLoopback(host) {
            reader.problems.add(
                reader.keyPath(key),
                "http:// is allowed only to a loopback address; use https://, or set allow_insecure_http: true to send erasures in clear")
        }
    }
}
