import ConfigFile
import Foundation
import Testing

/// SendGrid Marketing Campaigns: `POST /v3/marketing/contacts/search/emails` (≤ 100, 200 with
/// per-address results, 404 when none match, 400 when any address is invalid), then
/// `DELETE /v3/marketing/contacts?ids=a,b` → 202 `{"job_id": …}`; 429 with `X-RateLimit-Reset`.
@Suite struct SendGridDestinationTests {
    static func settings(_ base: String) -> [String: ConfigValue] {
        [
            "name": .string("sendgrid"), "type": .string("sendgrid"), "api_key": .string("SG.key"), "base_url": .string(base),
            "batch_linger": .string("2s"), "rate_limit_per_second": .int(50), "burst": .int(5),
        ]
    }

    /// Contacts: learners 1–3 (case-insensitive match); "bad" addresses are invalid.
    static func vendor(_ request: SeenRequest, _ vendor: MockVendor) -> Reply {
        vendor.expect(request.header("Authorization") == "Bearer SG.key", "wrong bearer key")
        if request.method == "POST", request.path == "/v3/marketing/contacts/search/emails" {
            let emails = request.json["emails"] as? [String] ?? []
            vendor.expect(!emails.isEmpty && emails.count <= 100, "1…100 emails per search")
            if emails.contains(where: { !$0.contains("@") }) {
                return .json(400, ["errors": [["field": "emails", "message": "invalid email"]]])
            }
            var result: [String: Any] = [:]
            for email in emails {
                if let n = Int(email.lowercased().replacingOccurrences(of: "learner", with: "").replacingOccurrences(of: "@example.org", with: "")), n <= 3 {
                    result[email] = ["contact": ["id": "contact-\(n)", "email": email.lowercased()]]
                } else {
                    result[email] = ["error": "contact not found"]
                }
            }
            if result.values.allSatisfy({ ($0 as? [String: Any])?["contact"] == nil }) { return .json(404, ["errors": [["message": "No contacts found"]]]) }
            return .json(200, ["result": result])
        }
        if request.method == "DELETE", request.path == "/v3/marketing/contacts" {
            vendor.expect(request.parameter("delete_all_contacts") == nil, "never delete_all_contacts")
            let ids = request.parameter("ids")?.split(separator: ",") ?? []
            vendor.expect(!ids.isEmpty && ids.allSatisfy { $0.hasPrefix("contact-") }, "ids must be contact ids")
            return .json(202, ["job_id": "job-\(vendor.bump("job"))"])
        }
        vendor.violation("unexpected \(request.method) \(request.path)")
        return .json(404, [:])
    }

    @Test func searchesThenDeletesFoundContactsInOneJob() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let outcomes = await Fixture.applyAll(pipeline, (1...5).map { Fixture.event(Int64($0)) })
                #expect(outcomes == [.erased(jobID: "job-1"), .erased(jobID: "job-1"), .erased(jobID: "job-1"), .alreadyGone, .alreadyGone])
                #expect(vendor.requests.map(\.method) == ["POST", "DELETE"])
                #expect(vendor.requests[1].parameter("ids") == "contact-1,contact-2,contact-3")
            }
        }
    }

    /// A search that folds Unicode case (`K`, KELVIN SIGN, to `k`) answers with another
    /// person's contact: it is not the learner's, and nothing is deleted.
    @Test func aContactFoundByAWiderMatchIsNeverDeleted() async throws {
        try await MockVendor.run({ request, vendor in
            if request.method == "POST" {
                let emails = request.json["emails"] as? [String] ?? []
                var result: [String: Any] = [:]
                for email in emails where email.lowercased() == "kim@example.org" {
                    result[email] = ["contact": ["id": "contact-kim", "email": "kim@example.org"]]
                }
                return result.isEmpty ? .json(404, ["errors": [["message": "No contacts found"]]]) : .json(200, ["result": result])
            }
            return .json(202, ["job_id": "job-1"])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1, email: "\u{212A}im@example.org")) == .alreadyGone)
                #expect(vendor.requests.filter { $0.method == "DELETE" }.isEmpty, "another person's contact was deleted")
                // The learner whose address it is (ASCII case aside) is erased.
                #expect(await pipeline.apply(Fixture.event(2, email: "KIM@example.org")) == .erased(jobID: "job-1"))
                #expect(vendor.requests.filter { $0.method == "DELETE" }.count == 1)
            }
        }
    }

    @Test func noMatchIsAlreadyGoneWithoutADelete() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(9)) == .alreadyGone)
                #expect(vendor.requests.count == 1)
            }
        }
    }

    @Test func anInvalidAddressFailsOnlyItsOwnEvent() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor) }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let events = [Fixture.event(1), Fixture.event(50, email: "not-an-address"), Fixture.event(2)]
                let outcomes = await Fixture.applyAll(pipeline, events)
                #expect(outcomes[0] == .erased(jobID: "job-1") || outcomes[0] == .erased(jobID: "job-2"))
                #expect(outcomes[1] == .permanent(reason: "HTTP 400"))
                #expect(outcomes[2].isSettled)
            }
        }
    }

    @Test func honoursXRateLimitResetAndRefusedKeys() async throws {
        let reset = Int(Date().timeIntervalSince1970.rounded(.up)) + 1
        try await MockVendor.run({ request, vendor in
            switch vendor.bump("c") {
            case 1: return .json(429, ["errors": [["field": NSNull(), "message": "too many requests"]]], headers: [("X-RateLimit-Reset", "\(reset)")])
            case 2:
                vendor.expect(request.at.timeIntervalSince1970 >= Double(reset) - 0.01, "request before X-RateLimit-Reset")
                return .json(403, ["errors": [["message": "access forbidden"]]])
            default: return Self.vendor(request, vendor)
            }
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)).retryAfter != nil)
                #expect(await pipeline.apply(Fixture.event(1)).isConfigurationError)
            }
        }
    }
}
