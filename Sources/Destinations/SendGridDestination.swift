import Engine
import Foundation
import RetirementEvent

/// `type: sendgrid`: Marketing Campaigns contacts. Finds the contacts by email
/// (`POST {base_url}/v3/marketing/contacts/search/emails`, up to 100 addresses), then deletes
/// them by id (`DELETE {base_url}/v3/marketing/contacts?ids=a,b`), `Authorization: Bearer <key>`.
///
/// The search answers 404 when no address matches and marks single misses with
/// `"error": "contact not found"`: those learners are already gone. The deletion is an
/// asynchronous job; its `job_id` is kept as `jobID`. A 400 on a batch search (one invalid
/// address fails the whole call) is retried address by address, so only the bad one fails.
package struct SendGridDestination: Destination {
    package static let defaultHost = "https://api.sendgrid.com"

    package let name: String
    package let baseURL: String
    let apiKey: String
    let transport: HTTPTransport

    /// The search takes up to 100 addresses.
    package var maxBatchSize: Int { 100 }

    package init(name: String, baseURL: String, apiKey: String, transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.transport = transport
    }

    var headers: [(String, String)] { [("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json")] }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        let emails = events.map(\.email)
        let found: [String: String]
        switch await search(emails) {
        case .success(let map):
            found = map
        case .failure(let failure):
            if case .permanent = failure.outcome, events.count > 1 {
                // One bad address spoils a batch search: find out which, one by one.
                var outcomes: [ErasureOutcome] = []
                for event in events { outcomes.append(contentsOf: await erase([event])) }
                return outcomes
            }
            return Array(repeating: failure.outcome, count: events.count)
        }
        // Contact id per event (nil: not found).
        let contactIDs = emails.map { found[EmailAddress.asciiLowercased($0)] }
        let ids = Array(Set(contactIDs.compactMap { $0 })).sorted()
        if ids.isEmpty { return Array(repeating: .alreadyGone, count: events.count) }
        let deleted: ErasureOutcome
        let url = "\(baseURL)/v3/marketing/contacts?ids=\(ids.map(VendorHTTP.encode).joined(separator: ","))"
        switch await VendorHTTP.send(transport, .delete, url, headers: [("Authorization", "Bearer \(apiKey)")]) {
        case .failure(let failure):
            deleted = failure.outcome
        case .success(let response):
            if (200..<300).contains(response.status) {
                let jobID = (VendorHTTP.parse(response.body) as? [String: Any])?["job_id"].map { "\($0)" }
                deleted = .erased(jobID: jobID)
            } else {
                deleted = SendGridDestination.classify(response)
            }
        }
        return contactIDs.map { $0 == nil ? .alreadyGone : deleted }
    }

    /// ASCII-lowercased email → contact id for the addresses SendGrid knows (Unicode case
    /// mapping would take another person's contact for the learner's).
    func search(_ emails: [String]) async -> Result<[String: String], TransportFailure> {
        let body = VendorHTTP.json([("emails", .array(emails.map { .string($0) }))])
        let url = "\(baseURL)/v3/marketing/contacts/search/emails"
        switch await VendorHTTP.send(transport, .post, url, headers: headers, body: body) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let response):
            if response.status == 404 { return .success([:]) }
            guard (200..<300).contains(response.status) else {
                return .failure(TransportFailure(outcome: SendGridDestination.classify(response)))
            }
            let result = (VendorHTTP.parse(response.body) as? [String: Any])?["result"] as? [String: Any] ?? [:]
            var map: [String: String] = [:]
            for (email, value) in result {
                guard let contact = (value as? [String: Any])?["contact"] as? [String: Any], let id = contact["id"] as? String else {
                    continue
                }
                // Only a contact whose own address is the one searched for: never one that the
                // search matched more widely (Unicode case folding, normalisation).
                let key = EmailAddress.asciiLowercased(email)
                if let own = contact["email"] as? String, EmailAddress.asciiLowercased(own) != key { continue }
                map[key] = id
            }
            return .success(map)
        }
    }

    /// 404 already gone; 401/403 configuration error; 408/429/5xx transient (`Retry-After`, else
    /// `X-RateLimit-Reset` as epoch or seconds); other 4xx permanent. Error bodies may echo an
    /// address (`Email_address … is not valid`), so only the status is kept.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        HTTPOutcome.classify(response, refused: "API key refused or lacks marketing scopes", waitSignal: VendorHTTP.waitSignal(response))
    }

    /// `GET /v3/scopes` (the key's own scopes): read-only, proves the key.
    package func check() async -> [String] {
        let refused = { (status: Int) in "SendGrid refused the API key (HTTP \(status))" }
        return await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/v3/scopes", headers: [("Authorization", "Bearer \(apiKey)")],
            refused: refused, unexpected: refused)
    }

    /// `type: sendgrid`: `api_key` (required), `base_url` (e.g. `https://api.eu.sendgrid.com`).
    /// SendGrid publishes no per-endpoint numbers; defaults are 2 calls at once, 2 per second,
    /// and the wait signal (`X-RateLimit-Reset`) does the rest.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let apiKey = reader.string("api_key", required: true) ?? ""
        let baseURL = VendorHTTP.baseURL(reader, default: defaultHost)
        return (
            { context in SendGridDestination(name: name, baseURL: baseURL, apiKey: apiKey, transport: context.transport) },
            DestinationLimits(concurrency: 2, requestsPerSecond: 2, burst: 2, linger: .seconds(1))
        )
    }
}
