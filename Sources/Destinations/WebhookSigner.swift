import Crypto
import RetirementEvent

/// Signs webhook requests (docs/contract.md#webhook-signature) the way receivers' libraries
/// already verify them, the Standard Webhooks specification: `webhook-id` (the event id),
/// `webhook-timestamp` (Unix seconds at sending) and `webhook-signature: v1,<base64 HMAC-SHA256
/// of "id.timestamp.body">`. A receiver refuses a timestamp outside its tolerance, so a captured
/// request cannot be replayed later. The deprecated `X-Retirement-Signature: sha256=<hex HMAC of
/// the body>` is sent alongside for receivers written against it.
package struct WebhookSigner: Sendable {
    /// The shortest signing key accepted, in bytes.
    package static let minimumKeyBytes = 32

    /// The HMAC key.
    package let key: [UInt8]

    package init(key: [UInt8]) {
        self.key = key
    }

    /// The key of a configured secret: the base64 bytes after `whsec_` (how Standard Webhooks
    /// libraries take a secret), or else the secret's UTF-8 bytes. Empty, short or undecodable
    /// secrets are refused; the message never quotes the secret.
    package static func key(fromSecret secret: String) -> Result<[UInt8], SecretRefused> {
        let key: [UInt8]
        if secret.hasPrefix("whsec_") {
            guard let decoded = Base64.decode(String(secret.dropFirst("whsec_".count))) else {
                return .failure(SecretRefused(description: "a whsec_ secret must be whsec_ followed by standard base64"))
            }
            key = decoded
        } else {
            key = Array(secret.utf8)
        }
        guard key.count >= minimumKeyBytes else {
            return .failure(
                SecretRefused(
                    description:
                        "must hold at least \(minimumKeyBytes) bytes (has \(key.count)); generate one with: echo whsec_$(openssl rand -base64 32)"
                ))
        }
        return .success(key)
    }

    /// The signature headers of one request.
    package func headers(eventID: String, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        let symmetric = SymmetricKey(data: key)
        var signed = Array("\(eventID).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let standard = HMAC<SHA256>.authenticationCode(for: signed, using: symmetric)
        let legacy = HMAC<SHA256>.authenticationCode(for: body, using: symmetric)
        return [
            ("webhook-id", eventID), ("webhook-timestamp", String(timestamp)), ("webhook-signature", "v1," + Base64.encode(Array(standard))),
            ("X-Retirement-Signature", "sha256=" + Base16.lowercase(legacy)),
        ]
    }

    /// Why a secret is refused.
    package struct SecretRefused: Error, CustomStringConvertible {
        package var description: String
    }
}
