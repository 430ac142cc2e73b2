import Engine
import Foundation
import RetirementEvent

/// `type: amplitude`: User Privacy API v1, `POST {base_url}/api/2/deletions/users` with
/// `{"user_ids": [...], "requester": "...", "ignore_invalid_id": "true"}` (up to 100 ids),
/// HTTP Basic `api_key:secret_key`.
///
/// Amplitude schedules a deletion job (run within 30 days); the outcome keeps its day and the
/// learner's Amplitude id as `jobID` (`<day>/<amplitude_id>`). Ids listed in `invalid_ids` are
/// unknown to the project: already gone.
package struct AmplitudeDestination: Destination {
    package static let usHost = "https://amplitude.com"
    package static let euHost = "https://analytics.eu.amplitude.com"

    package let name: String
    package let baseURL: String
    package let requester: String
    let authorization: String
    let transport: HTTPTransport

    /// Amplitude takes up to 100 user ids per call.
    package var maxBatchSize: Int { 100 }

    package init(name: String, baseURL: String, apiKey: String, secretKey: String, requester: String, transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.requester = requester
        self.authorization = VendorHTTP.basic(apiKey, secretKey)
        self.transport = transport
    }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        let ids = events.map { String($0.userID) }
        let body = VendorHTTP.json([
            ("user_ids", .array(ids.map { .string($0) })), ("requester", .string(requester)), ("ignore_invalid_id", .string("true")),
        ])
        let headers = [("Authorization", authorization), ("Content-Type", "application/json")]
        switch await VendorHTTP.send(transport, .post, "\(baseURL)/api/2/deletions/users", headers: headers, body: body) {
        case .failure(let failure):
            return Array(repeating: failure.outcome, count: events.count)
        case .success(let response):
            guard (200..<300).contains(response.status) else {
                return Array(repeating: AmplitudeDestination.classify(response), count: events.count)
            }
            return AmplitudeDestination.outcomes(ids: ids, body: response.body)
        }
    }

    /// Per id: in `invalid_ids` → already gone; else erased with `<day>/<amplitude_id>` (or `<day>`).
    static func outcomes(ids: [String], body: [UInt8]) -> [ErasureOutcome] {
        let object = VendorHTTP.parse(body) as? [String: Any] ?? [:]
        let day = object["day"] as? String
        let invalid = Set((object["invalid_ids"] as? [Any] ?? []).map { "\($0)" })
        var amplitudeIDs: [String: String] = [:]
        for entry in object["amplitude_ids"] as? [[String: Any]] ?? [] {
            if let userID = entry["user_id"].map({ "\($0)" }), let amplitudeID = entry["amplitude_id"] {
                amplitudeIDs[userID] = "\(amplitudeID)"
            }
        }
        return ids.map { id in
            if invalid.contains(id) { return .alreadyGone }
            let job = [day, amplitudeIDs[id]].compactMap { $0 }.joined(separator: "/")
            return .erased(jobID: job.isEmpty ? nil : job)
        }
    }

    /// 401/403 configuration error; 408/429/5xx transient (`Retry-After` if sent); other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        switch response.status {
        case 401, 403:
            return .configurationError(reason: "\(VendorHTTP.describe(response)): api_key/secret_key refused")
        case 408, 429, 500..<600:
            return .transient(reason: VendorHTTP.describe(response), retryAfter: VendorHTTP.waitSignal(response))
        default:
            return .permanent(reason: VendorHTTP.describe(response))
        }
    }

    /// Lists today's deletion jobs (`GET /api/2/deletions/users?start_day=…&end_day=…`): read-only, proves the keys.
    package func check() async -> [String] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let today = formatter.string(from: Date())
        return await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/api/2/deletions/users?start_day=\(today)&end_day=\(today)",
            headers: [("Authorization", authorization)],
            refused: { "Amplitude refused api_key/secret_key (HTTP \($0))" },
            unexpected: { "deletion job listing answered HTTP \($0)" })
    }

    /// `type: amplitude`: `api_key`, `secret_key` (required), `region: us|eu` (default us),
    /// `requester` (default `retirement-consumer`), `base_url` (overrides the region's host).
    /// Defaults from Amplitude's documented 1 request/second and 100 ids/request.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let apiKey = reader.string("api_key", required: true) ?? ""
        let secretKey = reader.string("secret_key", required: true) ?? ""
        let host = reader.choice("region", default: "us", ["us": usHost, "eu": euHost])
        let requester = reader.string("requester", or: "retirement-consumer")
        let baseURL = VendorHTTP.baseURL(reader, default: host)
        return (
            { context in
                AmplitudeDestination(
                    name: name, baseURL: baseURL, apiKey: apiKey, secretKey: secretKey, requester: requester, transport: context.transport)
            }, DestinationLimits(concurrency: 1, requestsPerSecond: 1, burst: 1, linger: .seconds(1))
        )
    }
}
