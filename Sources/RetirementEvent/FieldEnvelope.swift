import Crypto
import Foundation

/// The `encrypted` member of a retirement event: the personal fields sealed with AES-256-GCM
/// (docs/encryption.md, "Encrypted fields").
///
/// `{"v": 1, "alg": "A256GCM", "kid": "<key id>", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64 of ciphertext || tag>"}`;
/// the plaintext is a compact JSON object of the personal fields the event has; the associated
/// data binds it to one event: `<event type>\n<ce_id>\n<decimal user_id>`.
package enum FieldEnvelope {
    /// The fields that are encrypted when a keyring is configured.
    package static let personalFields = ["username", "email", "full_name", "retired_username", "retired_email"]
    package static let version: Int64 = 1
    package static let algorithm = "A256GCM"
    static let nonceBytes = 12
    static let tagBytes = 16

    /// A parsed, well-formed envelope (not yet authenticated).
    package struct Sealed: Sendable, Equatable {
        package var kid: String
        package var nonce: [UInt8]
        /// Ciphertext followed by the 16-byte tag.
        package var ciphertext: [UInt8]
    }

    package static func associatedData(eventID: some Collection<UInt8>, userID: Int64) -> [UInt8] {
        Array((RetirementEvent.eventType + "\n").utf8) + Array(eventID) + Array("\n\(userID)".utf8)
    }

    /// Checks the envelope's shape; `invalid_value:encrypted` when malformed.
    package static func parse(_ value: JSONValue) throws(BadInput) -> Sealed {
        guard case .object(let object) = value else { throw .invalidValue("encrypted", "must be an object") }
        guard case .integer(let version)? = object["v"], version == FieldEnvelope.version else {
            throw .invalidValue("encrypted", "has an unknown version 'v' (this consumer reads v 1)")
        }
        guard case .string(let alg)? = object["alg"], alg == algorithm else {
            throw .invalidValue("encrypted", "has an unknown 'alg' (this consumer reads A256GCM)")
        }
        guard case .string(let kid)? = object["kid"], Keyring.isValidKeyID(kid) else {
            throw .invalidValue("encrypted", "'kid' must be a key id ([A-Za-z0-9._-]{1,64})")
        }
        guard case .string(let nonceText)? = object["nonce"], let nonce = Base64.decode(nonceText) else {
            throw .invalidValue("encrypted", "'nonce' must be standard base64")
        }
        guard nonce.count == nonceBytes else { throw .invalidValue("encrypted", "'nonce' must be 12 bytes, got \(nonce.count)") }
        guard case .string(let cipherText)? = object["ciphertext"], let ciphertext = Base64.decode(cipherText) else {
            throw .invalidValue("encrypted", "'ciphertext' must be standard base64")
        }
        guard ciphertext.count >= tagBytes else {
            throw .invalidValue("encrypted", "'ciphertext' is shorter than the 16-byte tag")
        }
        return Sealed(kid: kid, nonce: nonce, ciphertext: ciphertext)
    }

    /// Authenticates and decrypts; `decryption_failed` when the tag does not verify (tampering,
    /// a ciphertext moved from another event, the wrong key).
    package static func open(_ sealed: Sealed, key: Keyring.Key, associatedData: [UInt8]) throws(BadInput) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed.nonce), ciphertext: sealed.ciphertext.dropLast(tagBytes),
                tag: sealed.ciphertext.suffix(tagBytes))
            let plain = try AES.GCM.open(box, using: key.symmetricKey, authenticating: associatedData)
            return Array(plain)
        } catch {
            throw BadInput(
                code: "decryption_failed",
                detail:
                    "the encrypted fields do not authenticate under key '\(sealed.kid)' for this event (tampered, moved from another event, or a different key with the same id)"
            )
        }
    }

    /// Seals `plaintext` (the JSON object of the personal fields) for one event; returns the
    /// envelope as JSON text. `nonce` is random unless given (tests and vectors only).
    package static func seal(
        plaintext: [UInt8], key: Keyring.Key, eventID: String, userID: Int64, nonce: [UInt8]? = nil
    ) throws -> String {
        let gcmNonce = try nonce.map { try AES.GCM.Nonce(data: $0) } ?? AES.GCM.Nonce()
        let box = try AES.GCM.seal(
            plaintext, using: key.symmetricKey, nonce: gcmNonce,
            authenticating: associatedData(eventID: Array(eventID.utf8), userID: userID))
        let nonceBytes = gcmNonce.withUnsafeBytes { Array($0) }
        return "{\"v\":1,\"alg\":\"\(algorithm)\",\"kid\":\"\(key.id)\",\"nonce\":\"\(Base64.encode(nonceBytes))\","
            + "\"ciphertext\":\"\(Base64.encode(Array(box.ciphertext) + Array(box.tag)))\"}"
    }

    /// The `kid` of a record value's envelope, without decrypting anything; `nil` for a plain,
    /// malformed or non-UTF-8 value. `keys check` uses it to find the keys still in use.
    package static func keyID(ofValue value: [UInt8]) -> String? {
        guard String(validating: value, as: UTF8.self) != nil, case .object(let object)? = try? JSONParser.parse(value),
            case .object(let envelope)? = object["encrypted"], case .string(let kid)? = envelope["kid"]
        else { return nil }
        return kid
    }
}
