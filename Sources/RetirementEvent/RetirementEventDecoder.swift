/// Decodes and validates a Kafka record into a ``RetirementEvent`` (docs/contract.md#event).
package struct RetirementEventDecoder: Sendable {
    /// Values larger than this are refused as `too_large` (events are a few hundred bytes).
    package var maxValueBytes: Int
    /// Decrypts events whose personal fields are in an `encrypted` envelope (docs/encryption.md);
    /// without one, such events are bad input (`key_unavailable`). Plain events need none.
    package var keyring: Keyring?
    /// `encryption.required`: a plain event (no `encrypted` envelope, or `null`) is bad input
    /// (`not_encrypted`), never applied. The envelope's authentication, bound to the event's id
    /// and user id, is then what proves that a producer holding the keyring ordered the erasure.
    package var requireEncryption: Bool

    package init(maxValueBytes: Int = 64 * 1024, keyring: Keyring? = nil, requireEncryption: Bool = false) {
        self.maxValueBytes = maxValueBytes
        self.keyring = keyring
        self.requireEncryption = requireEncryption
    }

    /// - Parameters:
    ///   - key: the record key, when it has one.
    ///   - value: the record value.
    ///   - header: looks a header up by name; returns `nil` when absent.
    package func decode(key: [UInt8]?, value: [UInt8]?, header: (String) -> [UInt8]?) -> Result<RetirementEvent, BadInput> {
        guard let value, !value.isEmpty else {
            return .failure(BadInput(code: "empty_value", detail: "the record has no value"))
        }
        guard value.count <= maxValueBytes else {
            return .failure(BadInput(code: "too_large", detail: "value of \(value.count) bytes exceeds \(maxValueBytes)"))
        }
        guard String(validating: value, as: UTF8.self) != nil else {
            return .failure(BadInput(code: "not_utf8", detail: "the value is not valid UTF-8"))
        }
        let object: EventFields
        do {
            switch try JSONParser.parseEvent(value) {
            case .fields(let fields):
                object = fields
            case .notAnObject(let json):
                return .failure(BadInput(code: "not_an_object", detail: "the value is a JSON \(json.typeName), not an object"))
            }
        } catch {
            return .failure(BadInput(code: "invalid_json", detail: "\(error.message) at byte \(error.position)"))
        }
        do {
            return .success(try makeEvent(object, key: key, header: header))
        } catch {
            return .failure(error)
        }
    }

    private func makeEvent(
        _ object: EventFields, key: [UInt8]?, header: (String) -> [UInt8]?
    ) throws(BadInput)
        -> RetirementEvent
    {
        var object = object
        let userID = try requiredInteger(object, "user_id")
        guard userID > 0 else { throw .invalidValue("user_id", "must be greater than 0") }
        var wasEncrypted = false
        if let envelope = object["encrypted"], envelope != .null {
            try openEnvelope(envelope, into: &object, userID: userID, header: header)
            wasEncrypted = true
        } else if requireEncryption {
            throw BadInput(code: "not_encrypted", detail: "encryption.required is on and the event has no encrypted envelope")
        }
        let username = try requiredString(object, "username")
        let email = try requiredString(object, "email")
        let fullName = try optionalString(object, "full_name")
        let retiredUsername = try optionalString(object, "retired_username")
        let retiredEmail = try optionalString(object, "retired_email")
        let retirementID = try optionalInteger(object, "retirement_id")
        let requestedAt = try optionalString(object, "requested_at")
        if let requestedAt, !RFC3339.isValid(requestedAt) {
            throw .invalidValue("requested_at", "is not an RFC 3339 date-time")
        }

        let idBytes = try eventIDHeader(header)
        if let key, key != Array(String(userID).utf8) {
            throw BadInput(code: "key_mismatch", detail: "the record key is not the decimal user_id")
        }
        return RetirementEvent(
            eventID: String(decoding: idBytes, as: UTF8.self),
            source: header("ce_source").map { String(decoding: $0, as: UTF8.self) },
            time: header("ce_time").map { String(decoding: $0, as: UTF8.self) },
            userID: userID, username: username, email: email, fullName: fullName,
            retiredUsername: retiredUsername, retiredEmail: retiredEmail,
            retirementID: retirementID, requestedAt: requestedAt, wasEncrypted: wasEncrypted)
    }

    /// `ce_id`, after checking `ce_type`.
    private func eventIDHeader(_ header: (String) -> [UInt8]?) throws(BadInput) -> [UInt8] {
        guard let typeBytes = header("ce_type") else {
            throw BadInput(code: "missing_header:ce_type", detail: "header ce_type is missing")
        }
        let type = String(decoding: typeBytes, as: UTF8.self)
        guard type == RetirementEvent.eventType else {
            throw BadInput(code: "unsupported_type", detail: "ce_type is not \(RetirementEvent.eventType)")
        }
        guard let idBytes = header("ce_id"), !idBytes.isEmpty else {
            throw BadInput(code: "missing_header:ce_id", detail: "header ce_id is missing or empty")
        }
        return idBytes
    }

    /// Replaces the envelope by the personal fields it holds. The usual field rules apply to
    /// them afterwards. Error details name the key id, never a decrypted value.
    private func openEnvelope(
        _ envelope: JSONValue, into object: inout EventFields, userID: Int64, header: (String) -> [UInt8]?
    ) throws(BadInput) {
        let sealed = try FieldEnvelope.parse(envelope)
        for field in FieldEnvelope.personalFields where object[field].map({ $0 != .null }) ?? false {
            throw .invalidValue("encrypted", "must not appear beside the clear field '\(field)'")
        }
        let eventID = try eventIDHeader(header)
        guard let keyring else {
            throw BadInput(
                code: "key_unavailable", detail: "the event is encrypted under key '\(sealed.kid)' and no keyring is configured")
        }
        guard let key = keyring.key(sealed.kid) else {
            throw BadInput(code: "key_unavailable", detail: "the event is encrypted under key '\(sealed.kid)', which is not in the keyring")
        }
        let plaintext = try FieldEnvelope.open(
            sealed, key: key, associatedData: FieldEnvelope.associatedData(eventID: eventID, userID: userID))
        // Read into fixed slots like the record's value (no dictionary); other members are dropped.
        guard String(validating: plaintext, as: UTF8.self) != nil, case .fields(let fields)? = try? JSONParser.parseEvent(plaintext) else {
            throw .invalidValue("encrypted", "the decrypted fields are not a JSON object")
        }
        object["encrypted"] = nil
        for field in FieldEnvelope.personalFields {
            if let value = fields[field] { object[field] = value }
        }
    }

    private func requiredInteger(_ object: EventFields, _ field: String) throws(BadInput) -> Int64 {
        guard let value = object[field], value != .null else { throw .missingField(field) }
        return try integer(value, field)
    }

    private func optionalInteger(_ object: EventFields, _ field: String) throws(BadInput) -> Int64? {
        guard let value = object[field], value != .null else { return nil }
        return try integer(value, field)
    }

    /// An integer in Int64's range. An integer literal beyond it is the right type with a value
    /// out of range (`invalid_value`); a fraction or exponent is the wrong type, as in the plugin.
    private func integer(_ value: JSONValue, _ field: String) throws(BadInput) -> Int64 {
        switch value {
        case .integer(let number):
            return number
        case .number(let text) where !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }):
            throw .invalidValue(field, "is out of range (at most 9223372036854775807)")
        default:
            throw .wrongType(field, expected: "an integer", got: value)
        }
    }

    private func requiredString(_ object: EventFields, _ field: String) throws(BadInput) -> String {
        guard let value = object[field], value != .null else { throw .missingField(field) }
        guard case .string(let text) = value else { throw .wrongType(field, expected: "a string", got: value) }
        guard !text.isEmpty else { throw .invalidValue(field, "must not be empty") }
        return text
    }

    private func optionalString(_ object: EventFields, _ field: String) throws(BadInput) -> String? {
        guard let value = object[field], value != .null else { return nil }
        guard case .string(let text) = value else { throw .wrongType(field, expected: "a string", got: value) }
        return text
    }
}
