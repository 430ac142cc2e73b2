import ConfigFile
import Destinations
import Engine
import Foundation
import Testing

/// HubSpot `POST /crm/v3/objects/contacts/gdpr-delete` by email: Bearer private-app token,
/// `{"objectId": email, "idProperty": "email"}`, 204; per-10-second limit, 429 with `policyName`.
@Suite struct HubSpotDestinationTests {
    static func settings(_ base: String, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("hubspot"), "type": .string("hubspot"), "token": .string("pat-na1-x"), "base_url": .string(base),
        ]
        map.merge(extra) { $1 }
        return map
    }

    static func contract(_ request: SeenRequest, _ vendor: MockVendor) {
        vendor.expect(request.method == "POST" && request.path == "/crm/v3/objects/contacts/gdpr-delete", "unexpected \(request.path)")
        vendor.expect(request.header("Authorization") == "Bearer pat-na1-x", "wrong bearer token")
        vendor.expect(request.json["idProperty"] as? String == "email", "idProperty must be email")
        vendor.expect((request.json["objectId"] as? String)?.contains("@") == true, "objectId must be the email")
    }

    @Test func erasesByEmailAndTreats404AsGone() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor)
            return (request.json["objectId"] as? String) == "Learner2@Example.org" ? .json(404, ["status": "error"]) : Reply(status: 204)
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))
                #expect(await pipeline.apply(Fixture.event(2)) == .alreadyGone)
                #expect(vendor.requests.count == 2)
            }
        }
    }

    @Test func keepsToTheRateLimit() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor)
            return Reply(status: 204)
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                // The default is 9/s with a burst of 10 (≤ 100 per 10 s); scaled up here to keep the test short.
                let pipeline = try Fixture.pipeline(
                    Self.settings(base, ["rate_limit_per_second": .int(20), "burst": .int(4)]), transport: transport)
                _ = await Fixture.applyAll(pipeline, (1...40).map { Fixture.event(Int64($0)) })
                #expect(vendor.requests.count == 40)
                // After the burst of 4, departures are paced at 20/s: 36 calls take at least 1.8 s.
                // Arrivals bunch up on a loaded machine (connection set-up, scheduling), so the
                // check is on the average rate over the run, with 15 % slack, not on short windows.
                let times = vendor.requests.map(\.at.timeIntervalSince1970).sorted()
                if let first = times.first, let last = times.last {
                    let rate = Double(times.count - 4) / (last - first)
                    #expect(rate <= 20 * 1.15, "average \(rate)/s")
                }
            }
        }
    }

    @Test func tenSecondlyPolicyWaitsTenSecondsDailyWaitsAnHour() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor)
            switch vendor.bump("c") {
            case 1:
                return .json(429, ["status": "error", "message": "You have reached your ten_secondly_rolling limit.", "policyName": "TEN_SECONDLY_ROLLING"])
            default: return .json(429, ["status": "error", "message": "daily", "policyName": "DAILY"])
            }
        }) { _, base in
            try await Fixture.withTransport { transport in
                let destination = try #require(try Fixture.pipeline(Self.settings(base), transport: transport).destination as? HubSpotDestination)
                // Straight to the destination: the pipeline would (rightly) hold the next call for 10 s.
                let first = await destination.erase([Fixture.event(1)])[0]
                #expect(first.retryAfter == .seconds(10))
                #expect(first.reason == "HTTP 429 (TEN_SECONDLY_ROLLING)")
                #expect(await destination.erase([Fixture.event(1)])[0].retryAfter == .seconds(3600))
            }
        }
    }

    @Test func tokenProblemsAreConfigurationErrorsAndCheckReadsOneContact() async throws {
        try await MockVendor.run({ request, vendor in
            if request.method == "GET" {
                vendor.expect(request.path == "/crm/v3/objects/contacts" && request.parameter("limit") == "1", "check path")
                return .json(403, ["category": "MISSING_SCOPES"])
            }
            Self.contract(request, vendor)
            return .json(401, ["category": "INVALID_AUTHENTICATION"])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let outcome = await pipeline.apply(Fixture.event(1))
                #expect(outcome.isConfigurationError)
                #expect(!outcome.reason.contains("Learner1"))
                #expect(await pipeline.check().first?.contains("scope") == true)
            }
        }
    }
}
