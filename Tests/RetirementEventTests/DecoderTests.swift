import RetirementEvent
import Testing

@Suite struct DecoderTests {
    let headers: [String: [UInt8]] = [
        "ce_type": Array(RetirementEvent.eventType.utf8), "ce_id": Array("id-1".utf8),
    ]

    func decode(_ value: String, key: String? = "42", maxBytes: Int = 65536) -> Result<RetirementEvent, BadInput> {
        RetirementEventDecoder(maxValueBytes: maxBytes).decode(key: key.map { Array($0.utf8) }, value: Array(value.utf8)) { headers[$0] }
    }

    @Test func decodesEveryField() throws {
        let event = try decode(
            """
            {"user_id": 42, "username": "ana", "email": "ana@example.org", "full_name": "Ana B", "retired_username": "r",
             "retired_email": "r@retired.invalid", "retirement_id": 7, "requested_at": "2026-11-01T10:00:00.5+02:00", "extra": [1, {"a": null}]}
            """
        ).get()
        #expect(
            event
                == RetirementEvent(
                    eventID: "id-1", userID: 42, username: "ana", email: "ana@example.org", fullName: "Ana B", retiredUsername: "r",
                    retiredEmail: "r@retired.invalid", retirementID: 7, requestedAt: "2026-11-01T10:00:00.5+02:00"))
    }

    @Test func tooLargeValuesAreBadInput() {
        let padding = String(repeating: "x", count: 2000)
        let result = decode("{\"user_id\": 42, \"username\": \"a\", \"email\": \"b\", \"pad\": \"\(padding)\"}", maxBytes: 1024)
        guard case .failure(let bad) = result else { Issue.record("accepted"); return }
        #expect(bad.code == "too_large")
    }

    @Test func escapesAndSurrogatesDecode() throws {
        let event = try decode(#"{"user_id": 42, "username": "\u00e9\ud83d\ude00\n", "email": "a\"b"}"#).get()
        #expect(event.username == "é😀\n")
        #expect(event.email == "a\"b")
    }

    @Test(arguments: [
        "{\"user_id\": 42,}", "{\"user_id\": 42", "{\"user_id\": 042}", "{\"user_id\": -}", "{'user_id': 1}",
        "{\"a\": \"\\ud800\"}", "{\"a\": \"\u{01}\"}", "{} {}",
    ])
    func malformedJSONIsInvalidJSON(_ text: String) {
        guard case .failure(let bad) = decode(text) else { Issue.record("accepted \(text)"); return }
        #expect(bad.code == "invalid_json")
    }

    @Test func errorsNeverQuotePersonalData() {
        let result = decode(#"{"user_id": 42, "username": "secret-name", "email": 5}"#)
        guard case .failure(let bad) = result else { Issue.record("accepted"); return }
        #expect(!bad.description.contains("secret-name"))
        #expect(bad.code == "wrong_type:email")
    }

    @Test func rfc3339() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2026-11-01T00:00:00+01:00") == RFC3339.parse("2026-10-31T23:00:00Z"))
        #expect(RFC3339.isValid("2024-02-29T23:59:59.123z"))
        // As strict as the plugin: no leap second, no space separator, no out-of-range 2^63.
        #expect(!RFC3339.isValid("2024-12-31T23:59:60Z"))
        #expect(!RFC3339.isValid("2026-11-01 00:00:00Z"))
        #expect(!RFC3339.isValid("2023-02-29T00:00:00Z"))
        #expect(!RFC3339.isValid("2026-11-01"))
        #expect(!RFC3339.isValid("2026-11-01T00:00:00"))
    }

    @Test func integersBeyondInt64AreOutOfRangeNotWrongType() throws {
        let decoder = RetirementEventDecoder()
        func decode(_ value: String, key: String? = nil) -> Result<RetirementEvent, BadInput> {
            let headers = ["ce_type": RetirementEvent.eventType, "ce_id": "e1"]
            return decoder.decode(key: key.map { Array($0.utf8) }, value: Array(value.utf8)) { headers[$0].map { Array($0.utf8) } }
        }
        #expect(decode(#"{"user_id": 9223372036854775808, "username": "u", "email": "e"}"#).failureCode == "invalid_value:user_id")
        #expect(try decode(#"{"user_id": 9223372036854775807, "username": "u", "email": "e"}"#, key: "9223372036854775807").get().userID == .max)
        #expect(decode(#"{"user_id": 1, "username": "u", "email": "e", "retirement_id": 9223372036854775808}"#).failureCode == "invalid_value:retirement_id")
        #expect(decode(#"{"user_id": 42.0, "username": "u", "email": "e"}"#).failureCode == "wrong_type:user_id")
        #expect(decode(#"{"user_id": 4.2e1, "username": "u", "email": "e"}"#).failureCode == "wrong_type:user_id")
    }
}

extension Result where Failure == BadInput {
    var failureCode: String? {
        if case .failure(let bad) = self { return bad.code }
        return nil
    }
}
