import ConfigFile
import Destinations
import Foundation
import RetirementEvent
import Testing

/// Segment Public API `POST /regulations`: Bearer token, SUPPRESS_WITH_DELETE / USER_ID,
/// ≤ 5,000 subject ids; 200 `{"data":{"regulateId":…}}`; 429 with `msBeforeNext`.
@Suite struct SegmentDestinationTests {
    static func settings(_ base: String) -> [String: ConfigValue] {
        [
            "name": .string("segment"), "type": .string("segment"), "token": .string("sgp-token"), "base_url": .string(base),
            "batch_linger": .string("2s"), "rate_limit_per_second": .int(50), "burst": .int(5),
        ]
    }

    static func contract(_ request: SeenRequest, _ vendor: MockVendor) -> Reply? {
        vendor.expect(request.method == "POST" && request.path == "/regulations", "unexpected \(request.method) \(request.path)")
        vendor.expect(request.header("Authorization") == "Bearer sgp-token", "wrong bearer token")
        let body = request.json
        vendor.expect(body["regulationType"] as? String == "SUPPRESS_WITH_DELETE", "regulationType")
        vendor.expect(body["subjectType"] as? String == "USER_ID", "subjectType")
        guard let ids = body["subjectIds"] as? [String], !ids.isEmpty else {
            vendor.violation("subjectIds must be a non-empty array of strings")
            return .json(400, ["errors": [["type": "ValidationError", "message": "bad"]]])
        }
        if ids.count > 5000 { vendor.violation("more than 5000 subjectIds") }
        return nil
    }

    @Test func sendsUserIDsAndUsernamesInBatchesAndKeepsTheRegulation() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor) ?? .json(200, ["data": ["regulateId": "reg-\(vendor.bump("r"))"]])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let events = (1...2600).map { Fixture.event(Int64($0)) }
                let outcomes = await Fixture.applyAll(pipeline, events)
                // 2 ids per learner, ≤ 5,000 per call → 2,500 learners per call → 2 calls.
                #expect(vendor.requests.count == 2)
                let ids = vendor.requests.flatMap { $0.json["subjectIds"] as? [String] ?? [] }
                #expect(ids.count == 5200)
                #expect(ids.contains("17") && ids.contains("learner17"))
                #expect(Set(outcomes.compactMap { if case .erased(let job) = $0 { job } else { nil } }) == ["reg-1", "reg-2"])
            }
        }
    }

    /// Open edX usernames may be all digits, and Segment user ids are LMS user ids: such a
    /// username names another learner and is never sent; the learner's own user id always is.
    @Test func aUsernameOfDigitsIsNeverSentAsAUserID() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor) ?? .json(200, ["data": ["regulateId": "reg-\(vendor.bump("r"))"]])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                // Every 4th of 200 retiring learners has a username that is the id of a learner
                // who is not retiring (1001...1050).
                let events: [RetirementEvent] = (1...200).map { (id: Int) -> RetirementEvent in
                    let username: String = id % 4 == 0 ? String(1000 + id / 4) : "learner\(id)"
                    return Fixture.event(Int64(id), username: username)
                }
                let outcomes = await Fixture.applyAll(pipeline, events)
                let ids = Set(vendor.requests.flatMap { $0.json["subjectIds"] as? [String] ?? [] })
                let bystanders: [String] = (1001...1050).map { String($0) }
                let retiring: [String] = (1...200).map { String($0) }
                #expect(ids.isDisjoint(with: bystanders), "a learner who never asked was regulated")
                #expect(ids.isSuperset(of: retiring), "every retiring learner's user id is sent")
                #expect(ids.count == 200 + 150)
                #expect(outcomes.allSatisfy { if case .erased = $0 { true } else { false } })
            }
        }
        #expect(SegmentDestination.couldBeAUserID("0042") && !SegmentDestination.couldBeAUserID("42a"))
        #expect(!SegmentDestination.couldBeAUserID("\u{0664}\u{0662}") && !SegmentDestination.couldBeAUserID(""))
    }

    @Test func honoursMsBeforeNextOn429() async throws {
        try await MockVendor.run({ request, vendor in
            if let error = Self.contract(request, vendor) { return error }
            if vendor.bump("c") == 1 {
                return .json(
                    429,
                    [
                        "errors": [
                            [
                                "type": "RequestError", "message": "Too many requests",
                                "data": ["remainingPoints": 0, "msBeforeNext": 700, "consumedPoints": 21],
                            ]
                        ]
                    ])
            }
            vendor.expect(request.at.timeIntervalSince(vendor.requests[0].at) >= 0.69, "request before msBeforeNext elapsed")
            return .json(200, ["data": ["regulateId": "reg-ok"]])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)).retryAfter == .milliseconds(700))
                #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: "reg-ok"))
                #expect(vendor.requests.count == 2)
            }
        }
    }

    @Test(arguments: [401, 403, 404])
    func tokenProblemsAreConfigurationErrors(status: Int) async throws {
        try await MockVendor.run({ request, vendor in
            _ = Self.contract(request, vendor)
            return .json(status, ["errors": [["type": "unauthorized", "message": "token"]]])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)).isConfigurationError)
            }
        }
    }

    @Test func checkReadsTheWorkspace() async throws {
        try await MockVendor.run({ request, vendor in
            vendor.expect(request.method == "GET" && request.path == "/", "check must be GET /")
            return request.header("Authorization") == "Bearer sgp-token"
                ? .json(200, ["data": ["workspace": ["id": "w", "slug": "s", "name": "n"]]]) : .json(401, [:])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.check() == [])
                var bad = Self.settings(base)
                bad["token"] = .string("wrong")
                let refused = try Fixture.pipeline(bad, transport: transport)
                #expect(await refused.check().count == 1)
            }
        }
    }
}
