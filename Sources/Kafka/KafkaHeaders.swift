import CRdKafka
import Foundation

/// A record's headers, copied out of librdkafka into one buffer (one allocation per record, not
/// two per header) and read by name or in order.
///
/// Layout of `packed`, per header in record order: the name's length (2 bytes, little-endian), the
/// value's length (4 bytes, little-endian; `0xFFFFFFFF` for a header without a value), the name's
/// bytes, the value's bytes.
package struct KafkaHeaders: Sendable, Sequence {
    package let packed: [UInt8]

    /// Packs headers (tests, tools); the consumer packs straight from librdkafka.
    package init(_ headers: [KafkaHeader]) {
        var bytes: [UInt8] = []
        for header in headers {
            KafkaHeaders.append(name: Array(header.name.utf8), value: header.value, to: &bytes)
        }
        packed = bytes
    }

    /// Copies the headers of a librdkafka header list.
    init(copying list: OpaquePointer) {
        var size = 0
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var length = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &length) == RD_KAFKA_RESP_ERR_NO_ERROR {
            size += 6 + (name.map { strlen($0) } ?? 0) + (value == nil ? 0 : length)
            index += 1
        }
        let count = index
        packed = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var at = 0
            for index in 0..<count {
                guard rd_kafka_header_get_all(list, index, &name, &value, &length) == RD_KAFKA_RESP_ERR_NO_ERROR else { break }
                let nameLength = name.map { strlen($0) } ?? 0
                let valueLength = value == nil ? 0xFFFF_FFFF : UInt32(length)
                buffer[at] = UInt8(truncatingIfNeeded: nameLength)
                buffer[at + 1] = UInt8(truncatingIfNeeded: nameLength >> 8)
                for shift in 0..<4 { buffer[at + 2 + shift] = UInt8(truncatingIfNeeded: valueLength >> (8 * UInt32(shift))) }
                at += 6
                if let name, nameLength > 0 {
                    UnsafeMutableRawPointer(buffer.baseAddress! + at).copyMemory(from: name, byteCount: nameLength)
                    at += nameLength
                }
                if let value, length > 0 {
                    UnsafeMutableRawPointer(buffer.baseAddress! + at).copyMemory(from: value, byteCount: length)
                    at += length
                }
            }
            initialized = at
        }
    }

    private static func append(name: [UInt8], value: [UInt8]?, to bytes: inout [UInt8]) {
        let nameLength = Swift.min(name.count, 0xFFFF)
        let valueLength = value.map { UInt32($0.count) } ?? 0xFFFF_FFFF
        bytes.append(UInt8(truncatingIfNeeded: nameLength))
        bytes.append(UInt8(truncatingIfNeeded: nameLength >> 8))
        for shift in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: valueLength >> (8 * UInt32(shift)))) }
        bytes += name.prefix(nameLength)
        if let value { bytes += value }
    }

    /// Where one header's name and value lie in `packed`.
    package struct Entry {
        package var name: Range<Int>
        /// `nil` for a header without a value.
        package var value: Range<Int>?
    }

    /// The entries in record order.
    package struct Iterator: IteratorProtocol {
        let packed: [UInt8]
        var at = 0

        package mutating func next() -> Entry? {
            guard at + 6 <= packed.count else { return nil }
            let nameLength = Int(packed[at]) | Int(packed[at + 1]) << 8
            var valueLength: UInt32 = 0
            for shift in 0..<4 { valueLength |= UInt32(packed[at + 2 + shift]) << (8 * UInt32(shift)) }
            let nameStart = at + 6
            let valueStart = nameStart + nameLength
            let hasValue = valueLength != 0xFFFF_FFFF
            at = valueStart + (hasValue ? Int(valueLength) : 0)
            return Entry(name: nameStart..<valueStart, value: hasValue ? valueStart..<at : nil)
        }
    }

    package func makeIterator() -> Iterator { Iterator(packed: packed) }

    /// The value of the first header with this name (`nil` when absent or without a value).
    package func value(named name: String) -> ArraySlice<UInt8>? {
        var name = name
        return name.withUTF8 { wanted in
            for entry in self where entry.name.count == wanted.count {
                var equal = true
                for (offset, byte) in wanted.enumerated() where packed[entry.name.lowerBound + offset] != byte {
                    equal = false
                    break
                }
                if equal { return entry.value.map { packed[$0] } }
            }
            return nil
        }
    }

    /// Every header as name and value.
    package var all: [KafkaHeader] {
        map { KafkaHeader(name: String(decoding: packed[$0.name], as: UTF8.self), value: $0.value.map { Array(packed[$0]) }) }
    }

    /// Whether there are no headers.
    package var isEmpty: Bool { packed.isEmpty }
}
