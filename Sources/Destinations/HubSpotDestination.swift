import Engine
import Foundation
import RetirementEvent

/// `type: hubspot`: GDPR delete by email, `POST {base_url}/crm/v3/objects/contacts/gdpr-delete`
/// with `{"objectId": "<email>", "idProperty": "email"}`, `Authorization: Bearer <private-app token>`.
///
/// One contact per call. HubSpot answers 204 even for an unknown address (and blocklists it);
/// 404 counts as already gone. A 429 names its policy: `TEN_SECONDLY_ROLLING` waits 10 s,
/// `DAILY` waits an hour before probing again (the reset time is midnight in the account's zone).
package struct HubSpotDestination: SingleEventDestination {
    package static let defaultHost = "https://api.hubapi.com"

    package let name: String
    package let baseURL: String
    let token: String
    let transport: HTTPTransport

    package init(name: String, baseURL: String, token: String, transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.token = token
        self.transport = transport
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        let body = VendorHTTP.json([("objectId", .string(event.email)), ("idProperty", .string("email"))])
        let headers = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        let url = "\(baseURL)/crm/v3/objects/contacts/gdpr-delete"
        switch await VendorHTTP.send(transport, .post, url, headers: headers, body: body) {
        case .failure(let failure): return failure.outcome
        case .success(let response): return HubSpotDestination.classify(response)
        }
    }

    /// 2xx erased; 404 already gone; 401/403 configuration error (token or missing
    /// `crm.objects.contacts.write` scope); 429 by policy; 5xx transient; other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        switch response.status {
        case 200..<300:
            return .erased(jobID: nil)
        case 404:
            return .alreadyGone
        case 401, 403:
            return .configurationError(reason: "\(VendorHTTP.describe(response)): private-app token refused or lacks crm.objects.contacts.write")
        case 429:
            let policy = (VendorHTTP.parse(response.body) as? [String: Any])?["policyName"] as? String
            let wait: Duration
            if let signal = VendorHTTP.waitSignal(response) {
                wait = signal
            } else if policy == "DAILY" {
                wait = .seconds(3600)
            } else {
                wait = .seconds(10)
            }
            return .transient(reason: "HTTP 429" + (policy.map { " (\($0))" } ?? ""), retryAfter: wait)
        case 408, 500..<600:
            return .transient(reason: VendorHTTP.describe(response), retryAfter: VendorHTTP.waitSignal(response))
        default:
            return .permanent(reason: VendorHTTP.describe(response))
        }
    }

    /// Reads one contact id (`GET /crm/v3/objects/contacts?limit=1&properties=hs_object_id`):
    /// proves the token and its contacts scope without changing anything.
    package func check() async -> [String] {
        await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/crm/v3/objects/contacts?limit=1&properties=hs_object_id",
            headers: [("Authorization", "Bearer \(token)")],
            refused: { $0 == 401 ? "HubSpot refused the token (HTTP 401)" : "the token lacks the contacts scopes (HTTP 403)" },
            unexpected: { "contacts read answered HTTP \($0)" })
    }

    /// `type: hubspot`: `token` (required; a private-app access token), `base_url`.
    /// Defaults from HubSpot's 100 requests per 10 s per app (Free/Starter; higher tiers may
    /// raise `rate_limit_per_second`): 9/s with a burst of 10 never exceeds 100 in any 10 s.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let token = reader.string("token", required: true) ?? ""
        let baseURL = VendorHTTP.baseURL(reader, default: defaultHost)
        return (
            { context in HubSpotDestination(name: name, baseURL: baseURL, token: token, transport: context.transport) },
            DestinationLimits(concurrency: 10, requestsPerSecond: 9, burst: 10)
        )
    }
}
