import ConfigFile
import Destinations
import Foundation
import RetirementEvent
import Testing

/// The webhook's signature headers are the contract's worked examples, byte for byte (the docs
/// checks compute the same examples independently); secrets and URLs follow the contract's rules.
@Suite struct WebhookSignerTests {
    struct Example: Sendable, CustomTestStringConvertible {
        var secret: String
        var timestamp: Int64
        var body: String
        var headers: [String]
        var testDescription: String { "timestamp \(timestamp)" }
    }

    /// Each `webhook-example-signature` mark of docs/contract.md with the body before it.
    static let examples: [Example] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/contract.md")
        let lines = (try? String(contentsOf: url, encoding: .utf8))?.components(separatedBy: "\n") ?? []
        func block(after index: Int) -> [String] {
            guard let open = lines[(index + 1)...].firstIndex(where: { $0.hasPrefix("```") }),
                let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") })
            else { return [] }
            return Array(lines[(open + 1)..<close])
        }
        var body = ""
        var found: [Example] = []
        for (index, line) in lines.enumerated() {
            if line.contains("check-docs: webhook-example-body") || line.contains("check-docs: webhook-example-batch-body") {
                body = block(after: index).first ?? ""
            }
            guard line.contains("check-docs: webhook-example-signature") else { continue }
            let words = line.split(separator: " ")
            let secret = words.first { $0.hasPrefix("secret=") }.map { String($0.dropFirst(7)) } ?? ""
            let timestamp = words.first { $0.hasPrefix("timestamp=") }.flatMap { Int64($0.dropFirst(10)) } ?? 0
            found.append(Example(secret: secret, timestamp: timestamp, body: body, headers: block(after: index)))
        }
        return found
    }()

    @Test func theContractHasWorkedExamples() {
        #expect(Self.examples.count >= 3)
        #expect(Self.examples.contains { $0.body.hasPrefix(#"{"events":["#) }, "the batch example")
    }

    @Test(arguments: examples)
    func signerGivesTheContractsHeaders(_ example: Example) throws {
        let key = try WebhookSigner.key(fromSecret: example.secret).get()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(example.body.utf8)) as? [String: Any])
        let id: String
        if let batch = document["events"] as? [[String: Any]] {
            // A batch: the body and the batch id as the batched webhook makes them.
            let events = batch.map {
                RetirementEvent(
                    eventID: $0["event_id"] as? String ?? "", userID: Int64($0["user_id"] as? Int ?? 0), username: $0["username"] as? String ?? "",
                    email: $0["email"] as? String ?? "", retiredUsername: $0["retired_username"] as? String,
                    retiredEmail: $0["retired_email"] as? String, requestedAt: $0["requested_at"] as? String)
            }
            #expect(WebhookBatchDestination.body(for: events) == Array(example.body.utf8))
            id = WebhookBatchDestination.batchID(events)
        } else {
            id = try #require(document["event_id"] as? String)
        }
        let headers = WebhookSigner(key: key).headers(eventID: id, timestamp: example.timestamp, body: Array(example.body.utf8))
        #expect(headers.map { "\($0.0): \($0.1)" } == example.headers)
    }

    @Test func shortEmptyOrUndecodableSecretsAreRefused() {
        for secret in ["", "short", String(repeating: "x", count: 31), "whsec_" + Data(repeating: 1, count: 31).base64EncodedString(), "whsec_!!"] {
            guard case .failure(let refused) = WebhookSigner.key(fromSecret: secret) else {
                Issue.record("accepted \(secret.count) characters")
                continue
            }
            #expect(!secret.isEmpty || refused.description.contains("at least 32 bytes"))
            if secret.count > 8 { #expect(!refused.description.contains(secret), "the message quotes the secret") }
        }
        #expect((try? WebhookSigner.key(fromSecret: String(repeating: "x", count: 32)).get())?.count == 32)
        #expect((try? WebhookSigner.key(fromSecret: "whsec_" + Data(repeating: 1, count: 32).base64EncodedString()).get()) == [UInt8](repeating: 1, count: 32))
    }

    /// `http://` only to loopback unless `allow_insecure_http`; the problem never quotes the URL.
    @Test func plainHTTPOnlyToLoopbackUnlessAllowed() {
        func problems(_ url: String, allow: Bool? = nil, type: String = "webhook") -> [String] {
            var settings: [String: ConfigValue] = ["name": .string("d"), "type": .string(type)]
            settings[type == "webhook" ? "url" : "base_url"] = .string(url)
            if type == "braze" { settings["api_key"] = .string("k") }
            if let allow { settings["allow_insecure_http"] = .bool(allow) }
            return Fixture.problems(settings)
        }
        for url in ["https://crm.example.org/erase", "http://127.0.0.1:8080/erase", "http://localhost/erase", "http://[::1]:9/x", "http://127.8.9.10/"] {
            #expect(problems(url) == [], "\(url)")
        }
        let refused = problems("http://crm.example.org/erase?token=hunter2")
        #expect(refused.count == 1 && refused[0].contains("allowed only to a loopback address") && !refused[0].contains("hunter2"), "\(refused)")
        #expect(problems("http://crm.example.org/erase", allow: true) == [])
        #expect(problems("http://127.0.0.1.evil.example/erase").count == 1)
        #expect(problems("http://rest.example.braze/", type: "braze").count == 1, "vendors' base_url follow the same rule")
        #expect(problems("ftp://crm.example.org/erase").first?.contains("must be an http:// or https:// URL") == true)
    }

    @Test func urlsAreRedactedInMessages() {
        #expect("\(RedactedURL("https://user:pw@crm.example.org:8443/erase?token=abc#x"))" == "https://crm.example.org:8443/erase?…")
        #expect("\(RedactedURL("https://crm.example.org/erase"))" == "https://crm.example.org/erase")
    }
}
