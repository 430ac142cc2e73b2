import Crypto
import Engine
import Foundation
import RetirementEvent

/// `type: webhook` with `batch_size` > 1 (docs/contract.md#webhook-batches): POSTs up to
/// `batch_size` events in one signed request, `{"events": [<event body>, …]}`, and reads one
/// result per event from the answer, so a receiver written for it pays one request per batch.
package struct WebhookBatchDestination: Destination {
    /// The largest `batch_size` accepted.
    package static let maxBatchSize = 1000

    package let name: String
    package let url: String
    package let batchSize: Int
    let signer: WebhookSigner?
    let transport: HTTPTransport
    let now: @Sendable () -> Int64

    package var maxBatchSize: Int { batchSize }

    package init(
        name: String, url: String, batchSize: Int, signingKey: [UInt8]?, transport: HTTPTransport,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.name = name
        self.url = url
        self.batchSize = batchSize
        self.signer = signingKey.map(WebhookSigner.init(key:))
        self.transport = transport
        self.now = now
    }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        let body = Self.body(for: events)
        let id = Self.batchID(events)
        var headers = [("Content-Type", "application/json"), ("Idempotency-Key", id)]
        if let signer { headers += signer.headers(eventID: id, timestamp: now(), body: body) }
        let response: HTTPTransport.Response
        do {
            response = try await transport.send(.POST, url, headers: headers, body: body)
        } catch {
            return Array(repeating: HTTPOutcome.transportFailure(error), count: events.count)
        }
        guard (200..<300).contains(response.status) else {
            // The whole request failed: the single-event reading for every event of the batch.
            return Array(repeating: HTTPOutcome.classify(response), count: events.count)
        }
        return Self.outcomes(events.map(\.eventID), answer: response.body)
    }

    /// `{"events":[…]}` with each event's body as the single-event webhook sends it.
    package static func body(for events: [RetirementEvent]) -> [UInt8] {
        var bytes = Array(#"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: WebhookDestination.body(for: event))
        }
        bytes.append(contentsOf: Array("]}".utf8))
        return bytes
    }

    /// `batch-` and 32 hex digits of SHA-256 over the event ids, sorted, one per line: the same
    /// events give the same id (a retried batch), and it names no learner.
    package static func batchID(_ events: [RetirementEvent]) -> String {
        let digest = SHA256.hash(data: Array(events.map(\.eventID).sorted().joined(separator: "\n").utf8))
        return "batch-" + String(Base16.lowercase(digest).prefix(32))
    }

    /// One outcome per event id, in order, from `{"results": [{"event_id", "outcome", …}]}`.
    /// An event without a result, or with one this reading does not know, is transient: it is
    /// sent again (the receiver is idempotent per event id).
    package static func outcomes(_ eventIDs: [String], answer: [UInt8]) -> [ErasureOutcome] {
        guard let object = VendorHTTP.parse(answer) as? [String: Any], let results = object["results"] as? [[String: Any]] else {
            return Array(repeating: .transient(reason: "batch answer has no results array", retryAfter: nil), count: eventIDs.count)
        }
        var byID: [String: [String: Any]] = [:]
        for result in results {
            guard let id = result["event_id"] as? String, byID[id] == nil else { continue }
            byID[id] = result
        }
        return eventIDs.map { id in
            guard let result = byID[id] else { return .transient(reason: "no result for the event in the batch answer", retryAfter: nil) }
            return outcome(result)
        }
    }

    static func outcome(_ result: [String: Any]) -> ErasureOutcome {
        let reason = code(result["reason"]) ?? "unspecified"
        switch result["outcome"] as? String {
        case "erased": return .erased(jobID: code(result["job_id"]))
        case "already_gone": return .alreadyGone
        case "retry":
            let seconds = (result["retry_after"] as? NSNumber)?.doubleValue
            let wait = seconds.flatMap { $0 >= 0 && $0.isFinite ? Duration.milliseconds(Int64($0 * 1000)) : nil }
            return .transient(reason: "receiver: retry (\(reason))", retryAfter: wait)
        case "failed": return .permanent(reason: "receiver: failed (\(reason))")
        default: return .transient(reason: "unknown outcome in the batch answer", retryAfter: nil)
        }
    }

    /// A receiver's code as it may appear in a reason or receipt: 1–64 characters of
    /// `[A-Za-z0-9_.:-]`, so that no personal value travels into logs or dead-letter headers.
    static func code(_ value: Any?) -> String? {
        guard let text = value as? String, (1...64).contains(text.utf8.count),
            text.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || [0x5F, 0x2E, 0x3A, 0x2D].contains(byte)
            })
        else { return nil }
        return text
    }

    /// As the single-event webhook: proves the host answers HTTP.
    package func check() async -> [String] {
        await WebhookDestination(name: name, url: url, signingKey: signer?.key, transport: transport).check()
    }
}
