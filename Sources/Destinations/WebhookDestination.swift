import Engine
import Foundation
import RetirementEvent

/// `type: webhook` (docs/contract.md#webhook): POSTs the event as JSON, signed when a secret is
/// set (``WebhookSigner``: Standard Webhooks headers, and the deprecated `X-Retirement-Signature`).
package struct WebhookDestination: SingleEventDestination {
    package let name: String
    package let url: String
    package let signer: WebhookSigner?
    let transport: HTTPTransport
    /// Unix seconds for `webhook-timestamp`.
    let now: @Sendable () -> Int64

    package init(
        name: String, url: String, signingKey: [UInt8]?, transport: HTTPTransport,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.name = name
        self.url = url
        self.signer = signingKey.map(WebhookSigner.init(key:))
        self.transport = transport
        self.now = now
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        let body = WebhookDestination.body(for: event)
        var headers = [("Content-Type", "application/json"), ("Idempotency-Key", event.eventID)]
        // Signed at each attempt: a retry carries a fresh timestamp, within the receiver's tolerance.
        if let signer { headers += signer.headers(eventID: event.eventID, timestamp: now(), body: body) }
        do {
            let response = try await transport.send(.POST, url, headers: headers, body: body)
            return HTTPOutcome.classify(response)
        } catch {
            return HTTPOutcome.transportFailure(error)
        }
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
                return ["destination \(name): \(RedactedURL(url)) refused the request (HTTP \(response.status)); check the secret"]
            }
            return []
        } catch {
            return ["destination \(name): cannot reach \(RedactedURL(url)): \(error)"]
        }
    }
}
