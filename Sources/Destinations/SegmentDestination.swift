import Engine
import Foundation
import Metrics
import RetirementEvent

/// `type: segment`: Public API workspace regulation, `POST {base_url}/regulations` with
/// `{"regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "USER_ID", "subjectIds": [...]}`,
/// `Authorization: Bearer <Public API token>`.
///
/// Each learner contributes its LMS user id and, as Open edX's driver does, its original
/// username (Segment user ids may be either). A username of ASCII digits only is never sent: it
/// may be another learner's user id (Open edX allows such usernames), and erasing the wrong
/// person cannot be undone. Such skips are counted in `retirement_segment_usernames_skipped_total`. Segment takes up to 5,000 ids per call, so a
/// batch holds up to 2,500 learners. The regulation id is kept as `jobID` (Segment finishes
/// within 30 days). On 429 the body's `msBeforeNext` is honoured, else `X-RateLimit-Reset`.
package struct SegmentDestination: Destination {
    package static let usHost = "https://api.segmentapis.com"
    package static let euHost = "https://eu1.api.segmentapis.com"
    /// Segment's documented maximum of subject ids per regulation.
    package static let maxSubjectIDs = 5000

    package let name: String
    package let baseURL: String
    package let regulationType: String
    package let includeUsername: Bool
    let token: String
    let transport: HTTPTransport
    let skippedUsernames: Counter

    package var maxBatchSize: Int { includeUsername ? Self.maxSubjectIDs / 2 : Self.maxSubjectIDs }

    package init(name: String, baseURL: String, token: String, regulationType: String, includeUsername: Bool, transport: HTTPTransport) {
        self.name = name
        self.baseURL = baseURL
        self.token = token
        self.regulationType = regulationType
        self.includeUsername = includeUsername
        self.transport = transport
        self.skippedUsernames = Counter(label: "retirement_segment_usernames_skipped_total", dimensions: [("destination", name)])
    }

    /// Whether a username could be taken for a user id: ASCII digits only.
    package static func couldBeAUserID(_ username: String) -> Bool {
        !username.isEmpty && username.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The subject ids of a batch: user ids, then usernames (never one that could be a user
    /// id), without duplicates.
    func subjectIDs(_ events: [RetirementEvent]) -> [String] {
        var seen: Set<String> = []
        var ids: [String] = []
        for event in events {
            var candidates = [String(event.userID)]
            if includeUsername, !event.username.isEmpty {
                if Self.couldBeAUserID(event.username) {
                    skippedUsernames.increment()
                } else {
                    candidates.append(event.username)
                }
            }
            for id in candidates where seen.insert(id).inserted { ids.append(id) }
        }
        return ids
    }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        let body = VendorHTTP.json([
            ("regulationType", .string(regulationType)), ("subjectType", .string("USER_ID")),
            ("subjectIds", .array(subjectIDs(events).map { .string($0) })),
        ])
        let headers = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        switch await VendorHTTP.send(transport, .post, "\(baseURL)/regulations", headers: headers, body: body) {
        case .failure(let failure):
            return Array(repeating: failure.outcome, count: events.count)
        case .success(let response):
            return Array(repeating: SegmentDestination.classify(response), count: events.count)
        }
    }

    /// 2xx erased with `data.regulateId`; 401/403/404 configuration error (token, plan or host);
    /// 408/429/5xx transient (`msBeforeNext`, else `Retry-After`/`X-RateLimit-Reset`); other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        switch response.status {
        case 200..<300:
            let data = (VendorHTTP.parse(response.body) as? [String: Any])?["data"] as? [String: Any]
            return .erased(jobID: data?["regulateId"] as? String)
        case 401, 403, 404:
            return .configurationError(reason: "\(VendorHTTP.describe(response)): Public API token or base_url refused")
        case 408, 429, 500..<600:
            return .transient(reason: VendorHTTP.describe(response), retryAfter: msBeforeNext(response.body) ?? VendorHTTP.waitSignal(response))
        default:
            return .permanent(reason: VendorHTTP.describe(response))
        }
    }

    /// `errors[].data.msBeforeNext` of a 429 body.
    static func msBeforeNext(_ body: [UInt8]) -> Duration? {
        guard let errors = (VendorHTTP.parse(body) as? [String: Any])?["errors"] as? [[String: Any]] else { return nil }
        for error in errors {
            if let data = error["data"] as? [String: Any], let ms = (data["msBeforeNext"] as? NSNumber)?.doubleValue, ms >= 0 {
                return HTTPWaitSignal.clampedSeconds(ms / 1000)
            }
        }
        return nil
    }

    /// `GET {base_url}/` (Get Workspace: the workspace of the token): read-only, proves the token.
    package func check() async -> [String] {
        await VendorHTTP.check(
            transport, destination: name, baseURL: baseURL, path: "/",
            headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")],
            refused: { "Segment refused the Public API token (HTTP \($0))" },
            unexpected: { "Get Workspace answered HTTP \($0)" })
    }

    static let regulationTypes = ["SUPPRESS_WITH_DELETE", "DELETE_ONLY", "SUPPRESS_WITH_DELETE_INTERNAL", "DELETE_INTERNAL"]

    /// `type: segment`: `token` (required), `region: us|eu`, `base_url`, `regulation_type`
    /// (default `SUPPRESS_WITH_DELETE`), `include_username` (default true).
    /// Segment publishes no numeric rate limit; defaults are one call at a time, 1 per second.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let token = reader.string("token", required: true) ?? ""
        let host = reader.choice("region", default: "us", ["us": usHost, "eu": euHost])
        let regulationType = reader.string("regulation_type", or: "SUPPRESS_WITH_DELETE")
        if !regulationTypes.contains(regulationType) {
            reader.problems.add(reader.keyPath("regulation_type"), "must be one of \(regulationTypes.joined(separator: ", "))")
        }
        let includeUsername = reader.bool("include_username", default: true)
        let baseURL = VendorHTTP.baseURL(reader, default: host)
        return (
            { context in
                SegmentDestination(
                    name: name, baseURL: baseURL, token: token, regulationType: regulationType, includeUsername: includeUsername,
                    transport: context.transport)
            }, DestinationLimits(concurrency: 1, requestsPerSecond: 1, burst: 1, linger: .seconds(2))
        )
    }
}
