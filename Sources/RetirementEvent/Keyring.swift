import Crypto

/// The AES-256 keys that encrypt the personal fields of retirement events (docs/encryption.md).
///
/// JSON text: `{"current": "<kid>", "keys": [{"id": "<kid>", "created": "<RFC 3339>", "secret": "<base64 of 32 bytes>"}]}`.
/// The consumer decrypts with any listed key; producers encrypt with `current`. Removing a key
/// shreds every event encrypted under it. Nothing here ever prints a secret.
package struct Keyring: Sendable, CustomStringConvertible {
    package struct Key: Sendable, CustomStringConvertible {
        package let id: String
        /// As written in the keyring (RFC 3339).
        package let created: String
        /// `created` in seconds since the epoch.
        package let createdAt: Double
        let secretBytes: [UInt8]

        /// Validates one key. Throws ``Invalid`` naming the problem, never the secret.
        package init(id: String, created: String, secret: [UInt8]) throws(Invalid) {
            guard Keyring.isValidKeyID(id) else { throw Invalid("key id \(Keyring.quoted(id)) must match [A-Za-z0-9._-]{1,64}") }
            guard let createdAt = RFC3339.parse(created) else {
                throw Invalid("key '\(id)': created must be an RFC 3339 date-time")
            }
            guard secret.count == 32 else { throw Invalid("key '\(id)': secret must be 32 bytes (AES-256), got \(secret.count)") }
            self.id = id
            self.created = created
            self.createdAt = createdAt
            self.secretBytes = secret
        }

        /// A new random key.
        package static func generate(id: String, created: String) throws(Invalid) -> Key {
            let key = SymmetricKey(size: .bits256)
            let bytes = key.withUnsafeBytes { Array($0) }
            return try Key(id: id, created: created, secret: bytes)
        }

        var symmetricKey: SymmetricKey { SymmetricKey(data: secretBytes) }

        /// The key as a keyring entry (JSON, with its secret): for writing keyring files only.
        package var entryJSON: String {
            "{\"id\": \"\(id)\", \"created\": \"\(created)\", \"secret\": \"\(Base64.encode(secretBytes))\"}"
        }

        package var description: String { "Keyring.Key(id: \(id), created: \(created))" }
    }

    /// Why a keyring is not valid. The message never contains key material.
    package struct Invalid: Error, Sendable, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }

    /// The key producers encrypt with (`nil` in a decrypt-only keyring).
    package let current: String?
    /// In keyring order.
    package let keys: [Key]
    private let byID: [String: Key]

    package init(current: String?, keys: [Key]) throws(Invalid) {
        guard !keys.isEmpty else { throw Invalid("the keyring has no keys") }
        var byID: [String: Key] = [:]
        for key in keys {
            guard byID[key.id] == nil else { throw Invalid("key id '\(key.id)' appears twice") }
            byID[key.id] = key
        }
        if let current, byID[current] == nil {
            throw Invalid("current key \(Keyring.quoted(current)) is not in the keyring")
        }
        self.current = current
        self.keys = keys
        self.byID = byID
    }

    package func key(_ id: String) -> Key? { byID[id] }

    package var currentKey: Key? { current.flatMap { byID[$0] } }

    package var description: String {
        "Keyring(current: \(current ?? "-"), keys: \(keys.map(\.id)))"
    }

    package static func isValidKeyID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// An id for an error message: quoted when valid, described when not (it may be anything).
    static func quoted(_ id: String) -> String {
        isValidKeyID(id) ? "'\(id)'" : "(\(id.utf8.count) bytes, not a valid key id)"
    }

    /// Parses keyring JSON text.
    package static func parse(_ text: String) throws(Invalid) -> Keyring {
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw Invalid("the keyring is not valid JSON (\(error.message) at byte \(error.position))")
        }
        guard case .object(let root) = json else { throw Invalid("the keyring must be a JSON object") }
        for name in root.keys where name != "current" && name != "keys" {
            throw Invalid("unknown keyring member \(Keyring.isValidKeyID(name) ? "'\(name)'" : "(invalid name)"); known: current, keys")
        }
        var current: String?
        switch root["current"] {
        case nil, .null?: current = nil
        case .string(let text)?: current = text
        default: throw Invalid("'current' must be a key id string")
        }
        guard case .array(let items)? = root["keys"] else { throw Invalid("'keys' must be a list of keys") }
        var keys: [Key] = []
        for (index, item) in items.enumerated() {
            guard case .object(let entry) = item else { throw Invalid("keys[\(index)] must be an object") }
            for name in entry.keys where !["id", "created", "secret"].contains(name) {
                throw Invalid("keys[\(index)]: unknown member; known: id, created, secret")
            }
            guard case .string(let id)? = entry["id"] else { throw Invalid("keys[\(index)]: 'id' must be a string") }
            guard case .string(let created)? = entry["created"] else { throw Invalid("keys[\(index)]: 'created' must be a string") }
            guard case .string(let secretText)? = entry["secret"] else { throw Invalid("keys[\(index)]: 'secret' must be a string") }
            guard let secret = Base64.decode(secretText) else {
                throw Invalid("keys[\(index)]: 'secret' must be standard base64 of 32 bytes")
            }
            keys.append(try Key(id: id, created: created, secret: secret))
        }
        return try Keyring(current: current, keys: keys)
    }

    /// The keyring as JSON text, secrets included: for writing keyring files only.
    package var json: String {
        var text = "{\n  \"current\": \(current.map { "\"\($0)\"" } ?? "null"),\n  \"keys\": [\n"
        text += keys.map { "    " + $0.entryJSON }.joined(separator: ",\n")
        text += "\n  ]\n}\n"
        return text
    }

    /// A copy with `key` added (and made current when `makeCurrent`).
    package func adding(_ key: Key, makeCurrent: Bool) throws(Invalid) -> Keyring {
        try Keyring(current: makeCurrent ? key.id : current, keys: keys + [key])
    }
}
