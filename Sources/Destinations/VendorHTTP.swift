import ConfigFile
import Engine
import Foundation
import RetirementEvent

/// Small helpers shared by the vendor destinations: JSON bodies, auth headers, URL pieces,
/// and the reading of vendor wait signals. Nothing here logs or keeps personal data.
enum VendorHTTP {
    /// A JSON object body (keys sorted, slashes unescaped).
    static func json(_ members: [(String, CompactJSON.Value)]) -> [UInt8] {
        CompactJSON.object(members)
    }

    /// A parsed JSON body, or `nil` when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> Any? {
        guard !bytes.isEmpty else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    /// `Basic base64(user:password)`.
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        // `alphanumerics` includes non-ASCII letters; keep only ASCII unencoded.
        return text.unicodeScalars.map { scalar -> String in
            if scalar.isASCII, allowed.contains(scalar) { return String(scalar) }
            return String(scalar).utf8.map { String(format: "%%%02X", $0) }.joined()
        }.joined()
    }

    /// `application/x-www-form-urlencoded` body.
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&").utf8)
    }

    /// Sends and turns a connection error or timeout into a transient outcome.
    static func send(
        _ transport: HTTPTransport, _ method: HTTPMethodName, _ url: String, headers: [(String, String)], body: [UInt8]? = nil
    ) async -> Result<HTTPTransport.Response, TransportFailure> {
        do {
            return .success(try await transport.send(method.nio, url, headers: headers, body: body))
        } catch {
            return .failure(TransportFailure(outcome: HTTPOutcome.transportFailure(error)))
        }
    }

    /// `X-RateLimit-Reset` in any unit ``HTTPWaitSignal/resetAt(_:now:)`` reads: epoch seconds or
    /// milliseconds, seconds from now (SendGrid's erasure spec; values under 10^9), or an
    /// HTTP/RFC 5322 date (Segment); clamped like every wait signal.
    static func rateLimitReset(_ response: HTTPTransport.Response, now: Date = Date()) -> Duration? {
        guard let value = response.header("X-RateLimit-Reset") else { return nil }
        return HTTPWaitSignal.resetAt(value, now: now)
    }

    /// `Retry-After` first (RFC 9110), then the vendor's reset header.
    static func waitSignal(_ response: HTTPTransport.Response, now: Date = Date()) -> Duration? {
        HTTPOutcome.waitSignal(response, now: now) ?? rateLimitReset(response, now: now)
    }

    /// A vendor error code from common JSON error shapes (`errorCode`, `error`, `code`,
    /// `errors[0].errorCode`…), cut short and restricted to code-like characters so that it
    /// never carries an echoed address or name.
    static func errorCode(_ bytes: [UInt8]) -> String? {
        func clean(_ value: Any?) -> String? {
            guard let text = value as? String, !text.isEmpty, text.count <= 64 else { return nil }
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
            guard text.unicodeScalars.allSatisfy({ allowed.contains($0) }) else { return nil }
            return text
        }
        let object = parse(bytes)
        if let list = object as? [[String: Any]], let first = list.first {
            return clean(first["errorCode"]) ?? clean(first["error_code"]) ?? clean(first["code"])
        }
        guard let map = object as? [String: Any] else { return nil }
        if let code = clean(map["errorCode"]) ?? clean(map["error_code"]) ?? clean(map["code"]) ?? clean(map["policyName"])
            ?? clean(map["error"]) ?? clean(map["category"])
        {
            return code
        }
        if let errors = map["errors"] as? [[String: Any]], let first = errors.first {
            return clean(first["errorCode"]) ?? clean(first["code"]) ?? clean(first["type"])
        }
        return nil
    }

    /// `HTTP 400` or `HTTP 400 (INVALID_FIELD)`.
    static func describe(_ response: HTTPTransport.Response) -> String {
        if let code = errorCode(response.body) { return "HTTP \(response.status) (\(code))" }
        return "HTTP \(response.status)"
    }

    /// Trims a trailing slash; reports a value that is not an http(s) URL.
    static func baseURL(_ reader: SettingsReader, default defaultValue: String?, required: Bool = false) -> String {
        let value = reader.string("base_url", default: defaultValue, required: required) ?? ""
        HTTPURLRule.check(value, key: "base_url", reader: reader)
        var trimmed = value
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    /// The usual `check()`: one harmless GET. Unreachable, refused (401, 403) and, when
    /// `unexpected` is given, any other answer outside 2xx each make one problem, prefixed with
    /// the destination's name.
    static func check(
        _ transport: HTTPTransport, destination name: String, baseURL: String, path: String, headers: [(String, String)],
        refused: (Int) -> String, unexpected: ((Int) -> String)? = nil
    ) async -> [String] {
        switch await send(transport, .get, baseURL + path, headers: headers) {
        case .failure:
            return ["destination \(name): cannot reach \(RedactedURL(baseURL))"]
        case .success(let response):
            if (200..<300).contains(response.status) { return [] }
            if response.status == 401 || response.status == 403 { return ["destination \(name): \(refused(response.status))"] }
            return unexpected.map { ["destination \(name): \($0(response.status))"] } ?? []
        }
    }
}

extension ErasureOutcome {
    /// Severity for folding several calls' outcomes into one (higher wins).
    var severity: Int {
        switch self {
        case .alreadyGone: 0
        case .erased: 1
        case .transient: 2
        case .permanent: 3
        case .configurationError: 4
        }
    }
}
