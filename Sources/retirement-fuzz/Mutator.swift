/// Byte- and token-level mutations of a seed input, in the spirit of libFuzzer's: flips, inserts,
/// deletions, duplications, and interesting tokens (numbers at the edges of Int64, deep nesting,
/// invalid UTF-8, YAML and JSON syntax).
enum Mutator {
    static let tokens: [[UInt8]] =
        [
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e309", "-0", "0.0", "null", "true",
            "\"\\ud800\"", "\"\\u0000\"", "[[[[[[[[[[[[[[[[", "{\"a\":{\"a\":{\"a\":", "\"", "\\", ",", ":", "}", "]",
            "&anchor", "*anchor", "!!binary", "<<: *a", "- ", ": ", "\n  ", "\t", "_env: X", "_file: /dev/null", "_env: NOPE",
            "5m", "0ms", "99999999999h", "-1s", "2026-12-31T23:59:60Z", "2026-11-01 00:00:00Z",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00]]

    static func mutate<R: RandomNumberGenerator>(_ seed: [UInt8], using random: inout R) -> [UInt8] {
        var bytes = seed
        let rounds = 1 + Int(random.next() % 4)
        for _ in 0..<rounds {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 6 {
            case 0 where !bytes.isEmpty:
                let index = min(position, bytes.count - 1)
                bytes[index] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
            case 1:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2 where !bytes.isEmpty:
                let start = min(position, bytes.count - 1)
                let length = min(Int(random.next() % 8) + 1, bytes.count - start)
                bytes.removeSubrange(start..<(start + length))
            case 3:
                let token = tokens[Int(random.next() % UInt64(tokens.count))]
                bytes.insert(contentsOf: token, at: position)
            case 4 where !bytes.isEmpty:
                let start = min(position, bytes.count - 1)
                let length = min(Int(random.next() % 32) + 1, bytes.count - start)
                let chunk = Array(bytes[start..<(start + length)])
                let times = 1 + Int(random.next() % 64)
                for _ in 0..<times { bytes.insert(contentsOf: chunk, at: start) }
            default:
                if bytes.count > 1 { bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count)))) }
            }
        }
        return bytes
    }
}
