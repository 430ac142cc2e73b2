import ConfigFile
import Engine
import Foundation
import Testing

@testable import Destinations

/// Salesforce REST: OAuth2 token (`POST /services/oauth2/token`, form), SOQL
/// `GET /services/data/v62.0/query?q=…`, `DELETE …/sobjects/{Object}/{Id}` → 204, 404
/// `ENTITY_IS_DELETED` / `NOT_FOUND`, 401 `INVALID_SESSION_ID` once a token expires,
/// `POST …/sobjects/Task` → 201 `{"id", "success"}`.
@Suite struct SalesforceDestinationTests {
    static func settings(_ base: String, _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("salesforce"), "type": .string("salesforce"), "client_id": .string("cid"),
            "client_secret": .string("csecret"), "base_url": .string(base),
        ]
        map.merge(extra) { $1 }
        return map
    }

    /// A small org: Lead L1 for `o'brien@example.org`, Contact C1 (already deleted) and Lead L3
    /// for learner 3. Tokens expire after `uses` calls.
    final class Org: Sendable {
        let uses: Int
        init(uses: Int = 100) { self.uses = uses }

        func handle(_ request: SeenRequest, _ vendor: MockVendor) -> Reply {
            if request.path == "/services/oauth2/token" {
                vendor.expect(request.method == "POST", "token must be POST")
                vendor.expect(request.header("Content-Type") == "application/x-www-form-urlencoded", "token body must be a form")
                let form = URLComponents(string: "http://x/?\(request.text)")?.queryItems ?? []
                let value = { (name: String) in form.first { $0.name == name }?.value }
                guard value("grant_type") == "client_credentials", value("client_id") == "cid", value("client_secret") == "csecret" else {
                    return .json(400, ["error": "invalid_client", "error_description": "invalid client credentials"])
                }
                return .json(200, ["access_token": "tok-\(vendor.bump("token"))", "instance_url": "http://unused.invalid", "token_type": "Bearer"])
            }
            let token = String((request.header("Authorization") ?? "").dropFirst("Bearer ".count))
            if vendor.bump("uses-\(token)") > uses || !token.hasPrefix("tok-") {
                return .json(401, [["message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"]])
            }
            let prefix = "/services/data/v62.0"
            guard request.path.hasPrefix(prefix) else { vendor.violation("not under \(prefix): \(request.path)"); return .json(404, []) }
            let path = String(request.path.dropFirst(prefix.count))
            switch (request.method, path) {
            case ("GET", "/query"), ("GET", "/queryAll"):
                let q = request.parameter("q") ?? ""
                let records: [[String: Any]]
                switch q {
                case #"SELECT Id, IsDeleted FROM Lead WHERE Email = 'o\'brien@example.org'"#: records = [["Id": "L1", "IsDeleted": false]]
                case "SELECT Id, IsDeleted FROM Contact WHERE Email = 'o\\'brien@example.org'": records = [["Id": "C1", "IsDeleted": false]]
                case "SELECT Id FROM Lead WHERE Email = 'Learner3@Example.org'": records = [["Id": "L3"]]
                case let text where text.hasPrefix("SELECT Id FROM Task WHERE Subject = 'GDPR Request: retire learner (event evt-3)'"):
                    records = vendor.requests.contains { $0.method == "POST" && $0.path.hasSuffix("/sobjects/Task") } ? [["Id": "T1"]] : []
                case let text where text.hasPrefix("SELECT Id"): records = []
                default:
                    vendor.violation("unexpected SOQL: \(q)")
                    return .json(400, [["message": "malformed", "errorCode": "MALFORMED_QUERY"]])
                }
                return .json(200, ["totalSize": records.count, "done": true, "records": records])
            case ("DELETE", "/sobjects/Lead/L1"):
                return Reply(status: 204)
            case ("DELETE", "/sobjects/Contact/C1"):
                return .json(404, [["message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []]])
            case ("POST", "/sobjects/Task"):
                vendor.expect(request.json["WhoId"] as? String == "L3", "Task must name the Lead")
                vendor.expect((request.json["Subject"] as? String)?.contains("@") == false, "no email in the Task subject")
                return .json(201, ["id": "T1", "success": true, "errors": []])
            case ("GET", "/limits"):
                return .json(200, ["DailyApiRequests": ["Max": 15000, "Remaining": 14000]])
            default:
                vendor.violation("unexpected \(request.method) \(request.path)")
                return .json(404, [["message": "not found", "errorCode": "NOT_FOUND"]])
            }
        }
    }

    @Test func findsByEscapedEmailAndDeletesLeadsAndContacts() async throws {
        let org = Org()
        try await MockVendor.run({ request, vendor in org.handle(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                #expect(await pipeline.apply(Fixture.event(1, email: "o'brien@example.org")) == .erased(jobID: nil))
                #expect(await pipeline.apply(Fixture.event(2)) == .alreadyGone)
                #expect(vendor.requests.filter { $0.method == "DELETE" }.count == 2)
                #expect(vendor.requests.filter { $0.path == "/services/oauth2/token" }.count == 1)
                #expect(await pipeline.check() == [])
            }
        }
    }

    @Test func fetchesANewTokenOnceWhenTheSessionExpires() async throws {
        let org = Org(uses: 2)
        try await MockVendor.run({ request, vendor in org.handle(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                // 4 calls (2 queries, 2 deletes) with a token good for 2: one refresh, no failure.
                #expect(await pipeline.apply(Fixture.event(1, email: "o'brien@example.org")) == .erased(jobID: nil))
                #expect(vendor.requests.filter { $0.path == "/services/oauth2/token" }.count == 2)
            }
        }
    }

    @Test func refusedClientIsAConfigurationError() async throws {
        let org = Org()
        try await MockVendor.run({ request, vendor in org.handle(request, vendor) }) { _, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base, ["client_secret": .string("wrong")]), transport: transport)
                let outcome = await pipeline.apply(Fixture.event(1))
                #expect(outcome.isConfigurationError)
                #expect(outcome.reason.contains("invalid_client"))
                #expect(await pipeline.check().count == 1)
            }
        }
    }

    @Test func taskModeCreatesOneTaskPerRetirement() async throws {
        let org = Org()
        try await MockVendor.run({ request, vendor in org.handle(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(
                    Self.settings(base, ["mode": .string("task"), "objects": .list([.string("Lead")])]), transport: transport)
                #expect(await pipeline.apply(Fixture.event(3)) == .erased(jobID: "T1"))
                // The same event again finds its Task instead of creating a second one.
                #expect(await pipeline.apply(Fixture.event(3)) == .erased(jobID: "T1"))
                #expect(vendor.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/Task") }.count == 1)
                #expect(await pipeline.apply(Fixture.event(4)) == .alreadyGone)
                #expect(vendor.requests.filter { $0.method == "DELETE" }.isEmpty)
            }
        }
    }

    @Test func requestLimitIsTransientAndSOQLIsEscaped() {
        let limited = response(403, #"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#)
        #expect(SalesforceDestination.classify(limited).retryAfter == .seconds(300))
        let denied = response(403, #"[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]"#)
        #expect(SalesforceDestination.classify(denied).isConfigurationError)
        #expect(SalesforceDestination.soqlEscape(#"a'b\c"d"#) == #"a\'b\\c\"d"#)
        // Per Unicode scalar: a quote with a combining mark, or CR LF, is one Character.
        #expect(SalesforceDestination.soqlEscape("a'\u{301} OR Email != '") == "a\\'\u{301} OR Email != \\'")
        #expect(SalesforceDestination.soqlEscape("x\r\ny") == "x\\r\\ny")
    }

    /// The email is validated before any query is built from it.
    @Test func anUnusableEmailBuildsNoQuery() async throws {
        let org = Org()
        try await MockVendor.run({ request, vendor in org.handle(request, vendor) }) { vendor, base in
            try await Fixture.withTransport { transport in
                let pipeline = try Fixture.pipeline(Self.settings(base), transport: transport)
                for email in ["x@example.org' OR Email != '", "no-at-sign", "a@b@c", "tab\t@example.org", "\u{202E}x@example.org", "q\"@example.org"] {
                    let outcome = await pipeline.apply(Fixture.event(7, email: email))
                    guard case .permanent = outcome else { Issue.record("\(email): \(outcome)"); continue }
                }
                #expect(!vendor.requests.contains { $0.path.hasSuffix("/query") || $0.path.hasSuffix("/queryAll") })
            }
        }
        #expect(EmailAddress.isUsable("o'brien@example.org") && EmailAddress.isUsable("jos\u{e9}@b\u{fc}cher.example"))
    }
}

private func response(_ status: Int, _ body: String) -> HTTPTransport.Response {
    HTTPTransport.Response(status: status, headers: [:], body: Array(body.utf8))
}
