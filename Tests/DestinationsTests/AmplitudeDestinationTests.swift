import ConfigFile
import Destinations
import Engine
import Foundation
import Testing

/// Amplitude User Privacy API v1: Basic api_key:secret_key, ≤ 100 `user_ids`, `requester`,
/// `ignore_invalid_id`; 200 with `day`, `amplitude_ids`, `invalid_ids`; 1 request per second.
@Suite struct AmplitudeDestinationTests {
    static let basic = "Basic " + Data("api-key:secret-key".utf8).base64EncodedString()

    static func settings(_ base: String, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("amplitude"), "type": .string("amplitude"), "api_key": .string("api-key"),
            "secret_key": .string("secret-key"), "base_url": .string(base), "batch_linger": .string("2s"),
        ]
        map.merge(extra) { $1 }
        return map
    }

    static func contract(_ request: SeenRequest, _ vendor: MockVendor) -> Reply? {
        vendor.expect(request.method == "POST" && request.path == "/api/2/deletions/users", "unexpected \(request.method) \(request.path)")
        vendor.expect(request.header("Authorization") == basic, "wrong Basic auth")
        let body = request.json
        guard let ids = body["user_ids"] as? [String], !ids.isEmpty else {
            vendor.violation("user_ids must be a non-empty array of strings")
            return .json(400, ["error": "bad"])
        }
        vendor.expect(ids.count <= 100, "more than 100 user_ids")
        vendor.expect(body["requester"] as? String == "retirement-consumer", "missing requester")
        vendor.expect((body["ignore_invalid_id"] as? String)?.lowercased() == "true", "ignore_invalid_id must be \"true\"")
        return nil
    }

    /// Users above 1000 are unknown to the project.
    static func accept(_ request: SeenRequest) -> Reply {
        let ids = request.json["user_ids"] as? [String] ?? []
        let known = ids.filter { Int($0)! <= 1000 }
        return .json(
            200,
            [
                "day": "2026-12-01", "status": "staging",
                "amplitude_ids": known.map { ["amplitude_id": 900_000 + Int($0)!, "user_id": $0, "requester": "retirement-consumer"] },
                "invalid_ids": ids.filter { Int($0)! > 1000 },
            ])
    }

    @Test func batchesAndKeepsTheJobAndUnknownIDs() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor) ?? Self.accept(request)
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let events = (1...140).map { Fixture.event(Int64($0)) } + [Fixture.event(5000)]
                let outcomes = await Fixture.applyAll(pipeline, events)
                #expect(vendor.requests.count == 2)  // ceil(141 / 100)
                #expect(outcomes[0] == .erased(jobID: "2026-12-01/900001"))
                #expect(outcomes[139] == .erased(jobID: "2026-12-01/900140"))
                #expect(outcomes[140] == .alreadyGone)
            }
        }
    }

    @Test func keepsToOneRequestPerSecondByDefault() async throws {
        try await MockVendor.run({ request, vendor in
            Self.contract(request, vendor) ?? Self.accept(request)
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                // Default limits (1 request/s, burst 1). 400 events make four full batches; a long
                // linger keeps a slow submission on a loaded machine from sending a partial one.
                let pipeline = try Fixture.pipeline(Self.settings(base, ["batch_linger": .string("30s")]), transport: transport)
                let events = (1...400).map { Fixture.event(Int64($0)) }
                _ = await Fixture.applyAll(pipeline, events)
                #expect(vendor.requests.count == 4)
                // Departures are 1 s apart, so the first and last are 3 s apart. Arrivals jitter on
                // a loaded machine (CI runs saw two arrivals 0.77 s and 0.35 s apart), so only the
                // span is checked, with room for 0.75 s of jitter: 2 requests/s would give 1.5 s,
                // a burst of 2 at 1 request/s 2.0 s, both below the 2.25 s floor.
                let times = vendor.requests.map(\.at.timeIntervalSince1970).sorted()
                if times.count == 4 {
                    #expect(times[3] - times[0] >= 2.25, "arrivals \(times.map { $0 - times[0] })")
                }
            }
        }
    }

    @Test func honoursRetryAfterOn429AndClassifiesErrors() async throws {
        try await MockVendor.run({ request, vendor in
            if let error = Self.contract(request, vendor) { return error }
            switch vendor.bump("c") {
            case 1: return Reply(status: 429, headers: [("Retry-After", "1")])
            case 2:
                let first = vendor.requests[0].at
                vendor.expect(request.at.timeIntervalSince(first) >= 0.99, "request before Retry-After elapsed")
                return .json(401, ["error": "Invalid API key"])
            default: return .json(400, ["error": "bad request"])
            }
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                let first = await pipeline.apply(Fixture.event(1))
                #expect(first.retryAfter == .seconds(1))
                #expect(await pipeline.apply(Fixture.event(1)).isConfigurationError)
                #expect(await pipeline.apply(Fixture.event(1)).isPermanent)
            }
        }
    }

    @Test func regionPicksTheHost() throws {
        let transport = HTTPTransport()
        defer { Task { await transport.shutdown() } }
        var settings = Self.settings("")
        settings["base_url"] = nil
        settings["region"] = .string("eu")
        let pipeline = try Fixture.pipeline(settings, transport: transport)
        #expect((pipeline.destination as? AmplitudeDestination)?.baseURL == "https://analytics.eu.amplitude.com")
        #expect(pipeline.limits.requestsPerSecond == 1)
        #expect(pipeline.destination.maxBatchSize == 100)
        settings["region"] = .string("mars")
        #expect(Fixture.problems(settings).contains { $0.contains("region") })
    }
}
