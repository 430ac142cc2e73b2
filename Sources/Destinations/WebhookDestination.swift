import Crypto
import Engine
import Foundation
import RetirementEvent

/// `type: webhook` (docs/contract.md#webhook): POSTs the event as JSON, signed with HMAC-SHA256 when a secret is set.
package struct WebhookDestination: SingleEventDestination {
    package let name: String
    package let url: String
    package let secret: [UInt8]?
    let transport: HTTPTransport

    package init(name: String, url: String, secret: String?, transport: HTTPTransport) {
        self.name = name
        self.url = url
        self.secret = secret.map { Array($0.utf8) }
        self.transport = transport
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        let body = WebhookDestination.body(for: event)
        var headers = [("Content-Type", "application/json"), ("Idempotency-Key", event.eventID)]
        if let signature = signature(body) { headers.append(("X-Retirement-Signature", signature)) }
        do {
            let response = try await transport.send(.POST, url, headers: headers, body: body)
            return HTTPOutcome.classify(response)
        } catch {
            return HTTPOutcome.transportFailure(error)
        }
    }

    /// `sha256=<hex HMAC-SHA256 of the body>`, or `nil` without a secret.
    package func signature(_ body: [UInt8]) -> String? {
        guard let secret else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + Base16.lowercase(mac)
    }

    /// The body of docs/contract.md#webhook-body: optional fields only when the event has them.
    package static func body(for event: RetirementEvent) -> [UInt8] {
        var members: [(String, CompactJSON.Value)] = [
            ("email", .string(event.email)), ("event_id", .string(event.eventID)), ("user_id", .integer(event.userID)),
            ("username", .string(event.username)),
        ]
        if let value = event.requestedAt { members.append(("requested_at", .string(value))) }
        if let value = event.retiredEmail { members.append(("retired_email", .string(value))) }
        if let value = event.retiredUsername { members.append(("retired_username", .string(value))) }
        return CompactJSON.object(members)
    }

    /// The webhook contract has no harmless probe; `check` only proves the host answers HTTP.
    package func check() async -> [String] {
        do {
            let response = try await transport.send(.HEAD, url, headers: [])
            if response.status == 401 || response.status == 403 {
                return ["destination \(name): \(url) refused the request (HTTP \(response.status)); check the secret"]
            }
            return []
        } catch {
            return ["destination \(name): cannot reach \(url): \(error)"]
        }
    }
}
