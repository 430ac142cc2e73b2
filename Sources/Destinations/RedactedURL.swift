import Foundation

/// A URL as `check` and error messages print it: scheme, host, port and path only. User
/// information, the query and the fragment may hold credentials or tokens and are left out.
package struct RedactedURL: CustomStringConvertible, Sendable {
    package let description: String

    package init(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            description = "<unparseable URL>"
            return
        }
        let port = components.port.map { ":\($0)" } ?? ""
        let elided = (components.query != nil || components.fragment != nil) ? "?…" : ""
        description = "\(scheme)://\(host)\(port)\(components.path)\(elided)"
    }
}
