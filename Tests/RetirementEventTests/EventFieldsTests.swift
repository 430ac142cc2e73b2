import Foundation
import Testing

@testable import RetirementEvent

/// The decoder's field reader (``JSONParser/parseEvent(_:)``, no dictionary) against the full
/// parser it replaced on the decoder's path: on every input both fail alike (same message and
/// position) or read the same value, and every field the decoder reads is the same.
@Suite struct EventFieldsTests {
    /// The shared vectors' values, the encryption vectors' values, and edge cases.
    static let seeds: [[UInt8]] = {
        var seeds = SharedVectorsTests.vectors.compactMap(\.value)
        seeds += EncryptionVectorsTests.events.map { Array($0.value.utf8) }
        seeds += [
            #"{"user_id": 1, "user_id": 2, "username": "a", "email": "b", "extra": {"deep": [1, 2.5, "x\u00e9", null, true]}}"#,
            #"{"user\u005fid": 7, "username": "\ud83d\ude00", "email": "e", "x": "\ud800"}"#,
            #"[1, 2]"#, #""text""#, "42", "null", #"{"a": [[[[[[[[[[1]]]]]]]]]]}"#, #"{"email": "a\nb"}"#,
            String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
            #"{"username": "x"} trailing"#, #"{"user_id": -0, "retirement_id": 1e3, "full_name": null}"#,
        ].map { Array($0.utf8) }
        return seeds
    }()

    /// Seeded mutations of the seeds: bytes flipped, dropped, doubled, and structural characters inserted.
    static func mutations(count: Int) -> [[UInt8]] {
        var generator = SeededGenerator(seed: 0x5EED)
        let alphabet = Array(#"{}[]",:\ 0-9eE.tfnu"#.utf8)
        return (0..<count).map { _ in
            var bytes = seeds.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes[at] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(bytes[at], at: at)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: at)
                }
            }
            return bytes
        }
    }

    @Test func theFieldReaderAgreesWithTheFullParser() {
        var disagreements: [String] = []
        for input in Self.seeds + Self.mutations(count: 20_000) where String(validating: input, as: UTF8.self) != nil {
            let full = Result { () throws(JSONParser.Failure) in try JSONParser.parse(input) }
            let fields = Result { () throws(JSONParser.Failure) in try JSONParser.parseEvent(input) }
            let agree: Bool
            switch (full, fields) {
            case (.failure(let a), .failure(let b)): agree = a.message == b.message && a.position == b.position
            case (.success(.object(let object)), .success(.fields(let read))):
                agree = EventFields.names.allSatisfy { object[$0] == read[$0] }
            case (.success(let value), .success(.notAnObject(let other))): agree = value == other
            default: agree = false
            }
            if !agree { disagreements.append(String(decoding: input, as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}

/// SplitMix64: a small seeded generator, so the mutations are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
