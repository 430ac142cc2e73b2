/// The learner's email address as destinations match it: never wider than the address itself.
package enum EmailAddress {
    /// Whether `text` can name one mailbox and only that one: at most 254 bytes, one `@` with a
    /// local part of 1–64 bytes and a non-empty domain, and no whitespace, control, format or
    /// quote characters, no backslash. Checked before any query is built from it.
    package static func isUsable(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count <= 254, let at = bytes.firstIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes.distance(from: bytes.startIndex, to: at)
        let domain = bytes.distance(from: bytes.index(after: at), to: bytes.endIndex)
        guard (1...64).contains(local), domain > 0, !text[text.index(after: at)...].contains("@") else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return false
            default: return scalar != "\"" && scalar != "\\"
            }
        }
    }

    /// Lowercases ASCII letters only. Unicode case mapping folds different addresses together
    /// (`K`, U+212A KELVIN SIGN, lowercases to `k`), which would match another person's mailbox.
    package static func asciiLowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return text }
        return String(decoding: text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
