import ConfigFile
import Crypto
import Engine
import Foundation
import Testing

@testable import Destinations

/// The batched webhook (docs/contract.md#webhook-batches) against a receiver written to the
/// contract: one signed `{"events": […]}` request per batch, one result per event.
@Suite struct WebhookBatchDestinationTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()

    static func settings(_ base: String, batchSize: Int = 10, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("crm"), "type": .string("webhook"), "url": .string("\(base)/erase-batch"), "secret": .string(secret),
            "batch_size": .int(batchSize), "batch_linger": .string("200ms"),
        ]
        map.merge(extra) { $1 }
        return map
    }

    /// Checks what every batch request must be; returns the event ids it carries.
    static func contract(_ request: SeenRequest, _ vendor: MockVendor, limit: Int) -> [String] {
        vendor.expect(request.method == "POST" && request.path == "/erase-batch", "unexpected \(request.method) \(request.path)")
        vendor.expect(request.header("Content-Type") == "application/json", "content type")
        let key = SymmetricKey(data: Data(repeating: 7, count: 32))
        let id = request.header("webhook-id") ?? ""
        let timestamp = request.header("webhook-timestamp") ?? ""
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + request.body, using: key)
        vendor.expect(request.header("webhook-signature") == "v1," + Data(mac).base64EncodedString(), "signature over id.timestamp.body")
        vendor.expect(id.hasPrefix("batch-") && request.header("Idempotency-Key") == id, "batch id in webhook-id and Idempotency-Key")
        guard let events = request.json["events"] as? [[String: Any]], !events.isEmpty else {
            vendor.violation("no events array")
            return []
        }
        vendor.expect(events.count <= limit, "\(events.count) events in a batch of at most \(limit)")
        for event in events {
            vendor.expect(event["email"] is String && event["user_id"] is Int && event["username"] is String, "event body fields")
        }
        return events.compactMap { $0["event_id"] as? String }
    }

    static func results(_ items: [(String, [String: Any])]) -> Reply {
        .json(200, ["results": items.map { id, fields in fields.merging(["event_id": id]) { $1 } }])
    }

    @Test func oneRequestPerBatchAndOneResultPerEvent() async throws {
        try await MockVendor.run({ request, vendor in
            let ids = Self.contract(request, vendor, limit: 10)
            return Self.results(ids.map { ($0, ["outcome": "erased", "job_id": "job-\($0)"]) })
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let outcomes = await Fixture.applyAll(pipeline, (1...25).map { Fixture.event(Int64($0)) })
                #expect(outcomes == (1...25).map { .erased(jobID: "job-evt-\($0)") })
                #expect(vendor.requests.count == 3, "25 events in batches of at most 10")
                #expect(Set(vendor.requests.flatMap { Self.contract($0, vendor, limit: 10) }).count == 25)
            }
        }
    }

    /// Partial failure: each event settles by its own result; a retried event is sent again
    /// (in a later batch) and settles; an event the answer leaves out is retried too.
    @Test func partialFailureSettlesEachEventByItsOwnResult() async throws {
        try await MockVendor.run({ request, vendor in
            let ids = Self.contract(request, vendor, limit: 10)
            var items: [(String, [String: Any])] = []
            for id in ids {
                let attempt = vendor.bump(id)
                switch id {
                case "evt-1": items.append((id, ["outcome": "already_gone"]))
                case "evt-2": items.append((id, ["outcome": "failed", "reason": "account_locked"]))
                case "evt-3": items.append((id, attempt == 1 ? ["outcome": "retry", "retry_after": 0.2] : ["outcome": "erased"]))
                case "evt-4": if attempt > 1 { items.append((id, ["outcome": "erased"])) }  // left out the first time
                case "evt-5": items.append((id, ["outcome": "failed", "reason": "learner@example.org is locked"]))
                default: items.append((id, ["outcome": "erased"]))
                }
            }
            return Self.results(items)
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(
                    Self.settings(base, ["batch_linger": .string("50ms")]), transport: transport)
                let outcomes = await Fixture.applyAll(pipeline, (1...6).map { Fixture.event(Int64($0)) })
                #expect(outcomes[0] == .alreadyGone)
                #expect(outcomes[1] == .permanent(reason: "receiver: failed (account_locked)"))
                #expect(outcomes[5] == .erased(jobID: nil))
                // Retried by the event processor (here: a second call), each by its own result.
                #expect(outcomes[2] == .transient(reason: "receiver: retry (unspecified)", retryAfter: .milliseconds(200)))
                #expect(outcomes[3] == .transient(reason: "no result for the event in the batch answer", retryAfter: nil))
                // A reason that is not a plain code is not carried into logs or dead letters.
                #expect(outcomes[4] == .permanent(reason: "receiver: failed (unspecified)"))
                let again = await Fixture.applyAll(pipeline, [Fixture.event(3), Fixture.event(4)])
                #expect(again == [.erased(jobID: nil), .erased(jobID: nil)])
                #expect(vendor.requests.count >= 2)
            }
        }
    }

    /// The whole request failing is read as for one event, for every event of the batch.
    @Test func aFailedRequestIsReadForEveryEvent() {
        let ids = ["a", "b"]
        #expect(WebhookBatchDestination.outcomes(ids, answer: Array("not json".utf8)).allSatisfy { !$0.isSettled })
        #expect(
            WebhookBatchDestination.outcomes(
                ids,
                answer: Array(
                    #"{"results": [{"event_id": "a", "outcome": "erased"}, {"event_id": "a", "outcome": "failed"}, {"event_id": "b", "outcome": "gone?"}]}"#
                        .utf8)) == [
                    .erased(jobID: nil), .transient(reason: "unknown outcome in the batch answer", retryAfter: nil),
                ])
    }

    @Test(arguments: [(503, "transient"), (429, "transient"), (401, "config_error"), (400, "permanent")])
    func wholeRequestStatuses(status: Int, label: String) async throws {
        try await MockVendor.run({ request, vendor in
            _ = Self.contract(request, vendor, limit: 10)
            return Reply(status: status, headers: status == 429 ? [("Retry-After", "1")] : [])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let problems = ConfigProblems()
                let reader = SettingsReader(path: "d", values: Self.settings(base), problems: problems)
                let blueprint = try #require(DestinationRegistry.read([reader], defaults: DestinationDefaults()).first)
                let destination = blueprint.make(DestinationContext(transport: transport, logger: Fixture.logger()))
                let outcomes = await destination.erase([Fixture.event(1), Fixture.event(2)])
                #expect(outcomes.map(\.label) == [label, label])
            }
        }
    }

    @Test func batchSizeIsValidatedAndOneKeepsTheSingleEventDestination() {
        #expect(Fixture.problems(Self.settings("http://127.0.0.1:1", batchSize: 1001)).contains { $0.contains("batch_size") })
        #expect(Fixture.problems(Self.settings("http://127.0.0.1:1", batchSize: 0)).contains { $0.contains("batch_size") })
        let problems = ConfigProblems()
        let reader = SettingsReader(path: "d", values: Self.settings("http://127.0.0.1:1", batchSize: 1), problems: problems)
        let blueprint = DestinationRegistry.read([reader], defaults: DestinationDefaults()).first
        let transport = HTTPTransport()
        #expect(blueprint.map { $0.make(DestinationContext(transport: transport, logger: Fixture.logger())) is WebhookDestination } == true)
        Task { await transport.shutdown() }
    }
}
