import ConfigFile
import Destinations
import Foundation
import Testing

/// Braze `/users/delete` per braze-docs: Bearer key, `external_ids` of strings, ≤ 50 per call,
/// 404 for an unknown key, 429 with `X-RateLimit-Reset` (epoch seconds).
@Suite struct BrazeDestinationTests {
    static let key = "braze-test-key"

    static func settings(_ base: String, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("braze"), "type": .string("braze"), "api_key": .string(key), "base_url": .string(base),
            "batch_linger": .string("2s"),
        ]
        map.merge(extra) { $1 }
        return map
    }

    /// The documented contract; answers 201 `{"deleted": n, "message": "success"}`.
    static func contract(_ request: SeenRequest, _ vendor: MockVendor) -> Reply? {
        vendor.expect(request.method == "POST" && request.path == "/users/delete", "unexpected \(request.method) \(request.path)")
        vendor.expect(request.header("Authorization") == "Bearer \(key)", "missing or wrong bearer key")
        vendor.expect(request.header("Content-Type")?.hasPrefix("application/json") == true, "not JSON")
        guard let ids = request.json["external_ids"] as? [String] else {
            vendor.violation("external_ids must be an array of strings")
            return .json(400, ["message": "Invalid"])
        }
        vendor.expect(request.json.count == 1, "exactly one identifier type per request")
        if ids.count > 50 { vendor.violation("more than 50 ids"); return .json(400, ["message": "The max number of ids per request was exceeded"]) }
        return nil
    }

    @Test func batchesUpTo50ExternalIDsPerRequest() async throws {
        try await MockVendor.run({ request, vendor in
            if let error = Self.contract(request, vendor) { return error }
            let ids = request.json["external_ids"] as? [String] ?? []
            return .json(201, ["deleted": ids.count, "message": "success"])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let events = (1...120).map { Fixture.event(Int64($0)) }
                let outcomes = await Fixture.applyAll(pipeline, events)
                #expect(outcomes.allSatisfy { $0 == .erased(jobID: nil) })
                // 120 events → ceil(120 / 50) = 3 requests, every id sent once.
                #expect(vendor.requests.count == 3)
                let sent = vendor.requests.flatMap { $0.json["external_ids"] as? [String] ?? [] }
                #expect(Set(sent) == Set((1...120).map(String.init)))
            }
        }
    }

    @Test func honoursXRateLimitResetAfter429() async throws {
        // The reset second, agreed before the first call: the next whole second + 1.
        let reset = Int(Date().timeIntervalSince1970.rounded(.up)) + 1
        try await MockVendor.run({ request, vendor in
            if let error = Self.contract(request, vendor) { return error }
            if vendor.bump("calls") == 1 {
                return .json(429, ["message": "rate limited"], headers: [("X-RateLimit-Reset", "\(reset)")])
            }
            vendor.expect(request.at.timeIntervalSince1970 >= Double(reset) - 0.01, "request before X-RateLimit-Reset")
            return .json(201, ["deleted": 1, "message": "success"])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let first = await pipeline.apply(Fixture.event(1))
                #expect(first.isTransient)
                #expect(first.retryAfter != nil)
                // The engine retries; the pipeline holds the call until the reset time.
                #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))
                #expect(vendor.requests.count == 2)
            }
        }
    }

    @Test(arguments: [(404, "unknown REST API key"), (401, "refused"), (403, "refused")])
    func keyProblemsAreConfigurationErrors(status: Int, words: String) async throws {
        try await MockVendor.run({ request, vendor in
            _ = Self.contract(request, vendor)
            return .json(status, ["message": "Invalid API key: \(Self.key)"])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let outcome = await pipeline.apply(Fixture.event(7))
                #expect(outcome.isConfigurationError)
                #expect(outcome.reason.contains(words))
                #expect(!outcome.reason.contains(Self.key))
            }
        }
    }

    @Test func serverErrorsAreTransientAndBadRequestsPermanent() async throws {
        try await MockVendor.run({ request, vendor in
            _ = Self.contract(request, vendor)
            return vendor.bump("c") == 1 ? .json(503, ["message": "unavailable"]) : .json(400, ["message": "bad"])
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)).isTransient)
                #expect(await pipeline.apply(Fixture.event(1)).isPermanent)
            }
        }
    }

    @Test func baseURLAndKeyAreRequired() {
        let problems = Fixture.problems(["name": .string("b"), "type": .string("braze")])
        #expect(problems.contains("d.api_key: required"))
        #expect(problems.contains("d.base_url: required"))
    }

    @Test func defaultLimitsFollowBrazeDocs() throws {
        let transport = HTTPTransport()
        defer { Task { await transport.shutdown() } }
        let pipeline = try Fixture.pipeline(Self.settings("https://rest.iad-01.braze.com"), transport: transport)
        #expect(pipeline.destination.maxBatchSize == 50)
        #expect(pipeline.limits.requestsPerSecond == 20_000.0 / 60.0)
    }
}
