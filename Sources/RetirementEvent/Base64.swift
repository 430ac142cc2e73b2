/// Standard base64 (RFC 4648 §4, with padding), strict: the decoder accepts only the canonical
/// encoding (no whitespace, no missing padding, no stray bits), the same rule as the LMS plugin.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let n = UInt32(input[index]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes, or `nil` when `text` is not canonical standard base64.
    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { input in values.withUnsafeBufferPointer { decode(input, $0) } }
    }

    /// One pass over the UTF-8 bytes with the table; three appends per quantum (no temporary
    /// arrays: an event's envelope is decoded on every record).
    private static func decode(_ input: UnsafeBufferPointer<UInt8>, _ values: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c0 = values[Int(input[index])], c1 = values[Int(input[index + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return nil }
            let p2 = input[index + 2] == UInt8(ascii: "="), p3 = input[index + 3] == UInt8(ascii: "=")
            if p2 || p3 {
                guard isLast, p3 else { return nil }
                if p2 {
                    guard c1 & 0x0F == 0 else { return nil }
                    out.append(c0 << 2 | c1 >> 4)
                } else {
                    let c2 = values[Int(input[index + 2])]
                    guard c2 != 0xFF, c2 & 0x03 == 0 else { return nil }
                    out.append(c0 << 2 | c1 >> 4)
                    out.append((c1 & 0x0F) << 4 | c2 >> 2)
                }
            } else {
                let c2 = values[Int(input[index + 2])], c3 = values[Int(input[index + 3])]
                guard c2 != 0xFF, c3 != 0xFF else { return nil }
                out.append(c0 << 2 | c1 >> 4)
                out.append((c1 & 0x0F) << 4 | c2 >> 2)
                out.append((c2 & 0x03) << 6 | c3)
            }
            index += 4
        }
        return out
    }
}
