import Engine
import RetirementEvent

/// `type: braze`: `POST {base_url}/users/delete` with `{"external_ids": [...]}` (Braze external
/// ids are LMS user ids), up to 50 per request, `Authorization: Bearer <REST API key>` with the
/// `users.delete` permission.
///
/// Braze queues the deletion (done within minutes) and returns no job id.
/// 404 means an unknown REST API key on that instance, not an unknown user: a configuration error.
package struct BrazeDestination: Destination {
    package let name: String
    /// The instance's REST endpoint, e.g. `https://rest.iad-01.braze.com`.
    package let baseURL: String
    let apiKey: String
    let transport: HTTPTransport

    /// Braze takes up to 50 external ids per call.
    package var maxBatchSize: Int { 50 }

    package init(name: String, baseURL: String, apiKey: String, transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.transport = transport
    }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        let body = VendorHTTP.json([("external_ids", .array(events.map { .string(String($0.userID)) }))])
        let headers = [("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json")]
        switch await VendorHTTP.send(transport, .post, "\(baseURL)/users/delete", headers: headers, body: body) {
        case .failure(let failure):
            return Array(repeating: failure.outcome, count: events.count)
        case .success(let response):
            return Array(repeating: BrazeDestination.classify(response), count: events.count)
        }
    }

    /// 2xx erased (queued); 404 unknown key and 401/403 → configuration error; 429 and 5xx
    /// transient with `X-RateLimit-Reset` (epoch seconds); other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        switch response.status {
        case 200..<300:
            return .erased(jobID: nil)
        case 401, 403:
            return .configurationError(reason: "\(VendorHTTP.describe(response)): REST API key refused (needs users.delete)")
        case 404:
            return .configurationError(reason: "HTTP 404: unknown REST API key for this instance (check base_url and api_key)")
        case 408, 429, 500..<600:
            return .transient(reason: VendorHTTP.describe(response), retryAfter: VendorHTTP.waitSignal(response))
        default:
            return .permanent(reason: VendorHTTP.describe(response))
        }
    }

    /// Braze documents no harmless call that proves a key holding only `users.delete`; `check`
    /// proves the instance host answers HTTPS and reports a refused key if it says so.
    package func check() async -> [String] {
        await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/", headers: [("Authorization", "Bearer \(apiKey)")],
            refused: { "\(RedactedURL(baseURL)) refused the API key (HTTP \($0))" })
    }

    /// `type: braze`: `api_key` (required), `base_url` (required: the instance REST endpoint).
    /// Defaults from Braze's documented 20,000 requests/minute for `/users/delete`.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let apiKey = reader.string("api_key", required: true) ?? ""
        let baseURL = VendorHTTP.baseURL(reader, default: nil, required: true)
        return (
            { context in BrazeDestination(name: name, baseURL: baseURL, apiKey: apiKey, transport: context.transport) },
            DestinationLimits(concurrency: 16, requestsPerSecond: 20_000.0 / 60.0, burst: 50, linger: .milliseconds(500))
        )
    }
}
