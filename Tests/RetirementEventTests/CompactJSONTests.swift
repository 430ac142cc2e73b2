import Foundation
import RetirementEvent
import Testing

/// CompactJSON writes what JSONSerialization (sorted keys, slashes unescaped) writes, byte for byte.
@Suite struct CompactJSONTests {
    static let awkward: [String] = [
        "", "plain", "with \"quotes\" and \\backslashes\\", "a/b/c", "tab\there", "line\nbreak\r\n",
        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}", "\u{7f}del", "é ü ß 中文 🙂", "\u{2028}\u{2029}", "learner+tag@example.org",
        "retired_user_4f1c0a7b", "2026-12-01T10:00:00Z",
    ]

    func foundation(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    @Test func stringsAndNumbersAsFoundationWritesThem() throws {
        for text in Self.awkward {
            let ours = CompactJSON.object([("username", .string(text)), ("user_id", .integer(42)), ("email", .string(text))])
            #expect(ours == (try foundation(["username": text, "user_id": 42, "email": text])), "\(Array(text.utf8))")
        }
        for number: Int64 in [0, 1, -1, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808] {
            #expect(CompactJSON.object([("n", .integer(number))]) == (try foundation(["n": number])))
        }
    }

    @Test func keysSortedAsFoundationSortsThem() throws {
        let keys = ["username", "user_id", "email", "event_id", "retired_email", "retired_username", "requested_at", "a", "ids", "external_ids"]
        let ours = CompactJSON.object(keys.map { ($0, .string($0)) })
        #expect(ours == (try foundation(Dictionary(uniqueKeysWithValues: keys.map { ($0, $0) }))))
    }

    @Test func nestedArraysObjectsAndLiterals() throws {
        let ours = CompactJSON.object([
            ("external_ids", .array([.string("1"), .string("2")])), ("flag", .bool(true)), ("off", .bool(false)),
            ("inner", .object([("b", .integer(2)), ("a", .array([]))])),
        ])
        let theirs = try foundation(
            [
                "external_ids": ["1", "2"], "flag": true, "off": false, "inner": ["b": 2, "a": [Int]()],
            ] as [String: Any])
        #expect(ours == theirs)
        #expect(CompactJSON.encode(.null) == Array("null".utf8))
    }
}
