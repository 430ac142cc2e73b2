import Crypto
import Engine
import RetirementEvent

/// `type: mailchimp`: Marketing API permanent delete in every configured audience,
/// `POST {base_url}/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`,
/// subscriber hash = MD5 of the lowercased email, HTTP Basic with any user and the API key.
///
/// The host comes from the key's data-center suffix (`…-us6` → `https://us6.api.mailchimp.com`)
/// unless `base_url` is set. 204 erased; 404 already gone in that audience (a wrong audience id
/// also answers 404, which is why `check` verifies each audience). The event's outcome is the
/// worst of its audiences' outcomes; all 404 → already gone.
package struct MailchimpDestination: SingleEventDestination {
    package let name: String
    package let baseURL: String
    package let audienceIDs: [String]
    let authorization: String
    let transport: HTTPTransport

    package init(name: String, baseURL: String, apiKey: String, audienceIDs: [String], transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.audienceIDs = audienceIDs
        self.authorization = VendorHTTP.basic("retirement-consumer", apiKey)
        self.transport = transport
    }

    /// MD5 hex of the lowercased address (Mailchimp's subscriber hash). ASCII letters only are
    /// lowercased: Unicode case mapping would hash another member's address (`K` → `kim@…`).
    package static func subscriberHash(_ email: String) -> String {
        Base16.lowercase(Insecure.MD5.hash(data: Array(EmailAddress.asciiLowercased(email).utf8)))
    }

    /// `us6` from `…-us6`; `nil` without a suffix.
    package static func dataCenter(_ apiKey: String) -> String? {
        guard let dash = apiKey.lastIndex(of: "-") else { return nil }
        let suffix = apiKey[apiKey.index(after: dash)...]
        guard !suffix.isEmpty, suffix.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
        return String(suffix)
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        let hash = MailchimpDestination.subscriberHash(event.email)
        var result: ErasureOutcome = .alreadyGone
        for audience in audienceIDs {
            let url = "\(baseURL)/3.0/lists/\(VendorHTTP.encode(audience))/members/\(hash)/actions/delete-permanent"
            let outcome: ErasureOutcome
            switch await VendorHTTP.send(transport, .post, url, headers: [("Authorization", authorization)]) {
            case .failure(let failure): outcome = failure.outcome
            case .success(let response): outcome = MailchimpDestination.classify(response)
            }
            if outcome.severity > result.severity { result = outcome }
            // A refused key or throttling will not change for the next audience.
            if case .configurationError = outcome { break }
            if case .transient = outcome { break }
        }
        return result
    }

    /// 2xx erased; 404 already gone; 401/403 configuration error; 429/5xx transient; other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        HTTPOutcome.classify(response, refused: "API key refused (or wrong data center)", waitSignal: VendorHTTP.waitSignal(response))
    }

    /// `GET /3.0/ping` proves the key; `GET /3.0/lists/{id}?fields=id` proves each audience id.
    package func check() async -> [String] {
        let headers = [("Authorization", authorization)]
        let pingFailed = { (status: Int) in "Mailchimp ping answered HTTP \(status) (check api_key and its data center)" }
        let ping = await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/3.0/ping", headers: headers, refused: pingFailed,
            unexpected: pingFailed)
        guard ping.isEmpty else { return ping }
        var problems: [String] = []
        for audience in audienceIDs {
            let url = "\(baseURL)/3.0/lists/\(VendorHTTP.encode(audience))?fields=id"
            switch await VendorHTTP.send(transport, .get, url, headers: headers) {
            case .failure:
                problems.append("destination \(name): cannot reach \(RedactedURL(baseURL))")
            case .success(let response):
                if response.status == 404 {
                    problems.append("destination \(name): audience \(audience) does not exist (HTTP 404)")
                } else if !(200..<300).contains(response.status) {
                    problems.append("destination \(name): audience \(audience) answered HTTP \(response.status)")
                }
            }
        }
        return problems
    }

    /// `type: mailchimp`: `api_key` (required; `…-<dc>`), `audience_ids` (required list), `base_url`.
    /// Defaults from Mailchimp's limit of 10 simultaneous connections per account; no rate limit.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let apiKey = reader.string("api_key", required: true) ?? ""
        let audiences = reader.stringList("audience_ids", required: true)
        var host: String?
        if let dc = dataCenter(apiKey) {
            host = "https://\(dc).api.mailchimp.com"
        } else if !apiKey.isEmpty, !reader.has("base_url") {
            reader.problems.add(reader.keyPath("api_key"), "has no data-center suffix (…-us6); set base_url")
        }
        let baseURL = VendorHTTP.baseURL(reader, default: host)
        return (
            { context in
                MailchimpDestination(
                    name: name, baseURL: baseURL, apiKey: apiKey, audienceIDs: audiences, transport: context.transport)
            }, DestinationLimits(concurrency: 10)
        )
    }
}
