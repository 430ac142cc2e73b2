/// Why a record is not a valid retirement event. ``code`` is stable (shared with the LMS plugin's
/// test vectors); ``detail`` never contains personal data.
package struct BadInput: Error, Sendable, Equatable, CustomStringConvertible {
    /// `empty_value`, `not_utf8`, `invalid_json`, `not_an_object`, `missing_field:<f>`,
    /// `wrong_type:<f>`, `invalid_value:<f>`, `missing_header:ce_type`, `unsupported_type`,
    /// `missing_header:ce_id`, `key_mismatch`, `too_large`; for encrypted events (docs/encryption.md)
    /// `key_unavailable`, `decryption_failed`, `invalid_value:encrypted`; with `encryption.required`,
    /// `not_encrypted` for a plain event.
    package var code: String
    package var detail: String

    package init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `code: detail`, as written into `x-retirement-error`.
    package var description: String { "\(code): \(detail)" }

    /// Every kind of bad input: a code is a kind, or a kind, `:` and a field or header name. New
    /// codes are added here, so `dlq list` and the metrics label them correctly.
    package static let kinds: Set<String> = [
        "empty_value", "not_utf8", "invalid_json", "not_an_object", "missing_field", "wrong_type", "invalid_value",
        "missing_header", "unsupported_type", "key_mismatch", "too_large", "key_unavailable", "decryption_failed",
        "not_encrypted",
    ]

    /// The kind of ``code`` (the part before `:`).
    package var kind: String { String(code.prefix { $0 != ":" }) }

    /// Whether `text` is a bad-input code.
    package static func isCode(_ text: String) -> Bool {
        kinds.contains(String(text.prefix { $0 != ":" }))
    }

    static func missingField(_ field: String) -> BadInput {
        BadInput(code: "missing_field:\(field)", detail: "required field '\(field)' is missing")
    }

    static func wrongType(_ field: String, expected: String, got: JSONValue) -> BadInput {
        BadInput(code: "wrong_type:\(field)", detail: "'\(field)' must be \(expected), got \(got.typeName)")
    }

    static func invalidValue(_ field: String, _ why: String) -> BadInput {
        BadInput(code: "invalid_value:\(field)", detail: "'\(field)' \(why)")
    }
}
