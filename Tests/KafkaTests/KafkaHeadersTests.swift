import Kafka
import Testing

@Suite struct KafkaHeadersTests {
    @Test func packedHeadersKeepOrderNamesAndValuesWithAndWithoutValue() {
        let long = [UInt8](repeating: 0xAB, count: 70_000)
        let original = [
            KafkaHeader(name: "ce_id", string: "abc"), KafkaHeader(name: "none", value: nil),
            KafkaHeader(name: "empty", value: []), KafkaHeader(name: "ce_id", string: "second"),
            KafkaHeader(name: "", string: "no name"), KafkaHeader(name: "long", value: long),
            KafkaHeader(name: "ü", string: "ß"),
        ]
        let headers = KafkaHeaders(original)
        #expect(headers.all == original)
        #expect(headers.value(named: "ce_id").map(Array.init) == Array("abc".utf8))
        #expect(headers.value(named: "none") == nil)
        #expect(headers.value(named: "empty").map(Array.init) == [])
        #expect(headers.value(named: "long").map(Array.init) == long)
        #expect(headers.value(named: "ü").map(Array.init) == Array("ß".utf8))
        #expect(headers.value(named: "ce_i") == nil)
        #expect(headers.value(named: "missing") == nil)
        #expect(KafkaHeaders([]).isEmpty)
        #expect(KafkaHeaders([]).all.isEmpty)
    }
}
