import ConfigFile
import Crypto
import Destinations
import Engine
import Foundation
import Testing

/// Mailchimp Marketing API: Basic (any user, key as password), `POST /3.0/lists/{list}/members/
/// {md5(lowercase email)}/actions/delete-permanent` → 204, 404 problem+json for an unknown member
/// or list; `GET /3.0/ping`, `GET /3.0/lists/{id}`; at most 10 simultaneous connections.
@Suite struct MailchimpDestinationTests {
    static let key = "0123456789abcdef-us6"
    static let audiences = ["aud1", "aud2"]

    static func settings(_ base: String?, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("mailchimp"), "type": .string("mailchimp"), "api_key": .string(key),
            "audience_ids": .list(audiences.map { .string($0) }),
        ]
        if let base { map["base_url"] = .string(base) }
        map.merge(extra) { $1 }
        return map
    }

    static func md5(_ text: String) -> String {
        Insecure.MD5.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Members: learner 1 in aud1 only, learner 2 nowhere; learner 3 in both.
    static func vendor(_ request: SeenRequest, _ vendor: MockVendor, delay: Duration = .zero) -> Reply {
        let expected = "Basic " + Data("retirement-consumer:\(key)".utf8).base64EncodedString()
        let user = String(data: Data(base64Encoded: String((request.header("Authorization") ?? "").dropFirst(6))) ?? Data(), encoding: .utf8)
        vendor.expect(request.header("Authorization") == expected && user?.hasSuffix(":\(key)") == true, "Basic auth with the key as password")
        let notFound = Reply.json(
            404,
            [
                "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Resource Not Found",
                "status": 404, "detail": "The requested resource could not be found.",
            ])
        if request.method == "GET" {
            if request.path == "/3.0/ping" { return .json(200, ["health_status": "Everything's Chimpy!"]) }
            let list = request.path.replacingOccurrences(of: "/3.0/lists/", with: "")
            return audiences.contains(list) ? .json(200, ["id": list]) : notFound
        }
        let parts = request.path.split(separator: "/").map(String.init)
        guard request.method == "POST", parts.count == 7, parts[0] == "3.0", parts[1] == "lists", parts[3] == "members",
            parts[5] == "actions", parts[6] == "delete-permanent"
        else {
            vendor.violation("unexpected \(request.method) \(request.path)")
            return notFound
        }
        vendor.expect(request.body.isEmpty, "delete-permanent takes no body")
        let members = ["aud1": [md5("learner1@example.org"), md5("learner3@example.org")], "aud2": [md5("learner3@example.org")]]
        guard let list = members[parts[2]] else { return notFound }
        var reply = list.contains(parts[4]) ? Reply(status: 204) : notFound
        reply.delay = delay
        return reply
    }

    @Test func deletesInEveryAudienceByHashOfLowercasedEmail() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))  // Learner1@Example.org
                #expect(await pipeline.apply(Fixture.event(2)) == .alreadyGone)
                #expect(await pipeline.apply(Fixture.event(3)) == .erased(jobID: nil))
                #expect(vendor.requests.count == 6)  // 3 learners × 2 audiences
                #expect(vendor.requests[0].path.contains(Self.md5("learner1@example.org")))
            }
        }
    }

    /// The subscriber hash lowercases ASCII only: `\u{212A}im@…` (KELVIN SIGN) is not
    /// `kim@…`, whose member must not be deleted for it.
    @Test func aUnicodeCaseVariantIsNotAnotherMembersHash() async throws {
        try await MockVendor.run({ request, vendor in
            request.path.contains(Self.md5("kim@example.org")) ? Reply(status: 204) : .json(404, ["status": 404, "title": "Resource Not Found"])
        }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1, email: "\u{212A}im@example.org")) == .alreadyGone)
                #expect(await pipeline.apply(Fixture.event(2, email: "Kim@Example.org")) == .erased(jobID: nil))
            }
        }
        #expect(MailchimpDestination.subscriberHash("\u{212A}im@example.org") != Self.md5("kim@example.org"))
    }

    @Test func neverMoreThanTenConnectionsAtOnce() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor, delay: .milliseconds(40)) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(pipeline.limits.concurrency == 10)
                _ = await Fixture.applyAll(pipeline, (1...40).map { Fixture.event(Int64($0)) })
                #expect(vendor.requests.count == 80)
                #expect(vendor.maxInFlight <= 10)
            }
        }
    }

    @Test func honoursRetryAfterAndRefusedKeys() async throws {
        try await MockVendor.run({ request, vendor in
            switch vendor.bump("c") {
            case 1: return Reply(status: 429, headers: [("Retry-After", "1")], body: "{\"title\":\"Too Many Requests\"}")
            case 2:
                vendor.expect(request.at.timeIntervalSince(vendor.requests[0].at) >= 0.99, "request before Retry-After")
                return .json(401, ["title": "API Key Invalid", "status": 401])
            default: return Self.vendor(request, vendor)
            }
        }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1)).retryAfter == .seconds(1))
                #expect(await pipeline.apply(Fixture.event(1)).isConfigurationError)
            }
        }
    }

    @Test func checkVerifiesEveryAudience() async throws {
        try await MockVendor.run({ request, vendor in Self.vendor(request, vendor) }) { _, base in
            try await Fixture.withTransport { transport in
                let right = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await right.check() == [])
                let wrong = try Fixture.pipeline(
                    Self.settings(base, ["audience_ids": .list([.string("aud1"), .string("nope")])]), transport: transport)
                let problems = await wrong.check()
                #expect(problems.count == 1)
                #expect(problems.first?.contains("audience nope does not exist") == true)
            }
        }
    }

    @Test func hostComesFromTheKeysDataCenter() throws {
        let transport = HTTPTransport()
        defer { Task { await transport.shutdown() } }
        let pipeline = try Fixture.pipeline(Self.settings(nil), transport: transport)
        #expect((pipeline.destination as? MailchimpDestination)?.baseURL == "https://us6.api.mailchimp.com")
        #expect(MailchimpDestination.subscriberHash("Learner1@Example.ORG") == Self.md5("learner1@example.org"))
        var noSuffix = Self.settings(nil)
        noSuffix["api_key"] = .string("plainkey")
        #expect(Fixture.problems(noSuffix).contains { $0.contains("data-center") })
    }
}
