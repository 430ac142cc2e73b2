import Foundation
import Kafka
import OperatorTools
import Testing

extension ProcessTests {
    /// Every kind of bad input is dead-lettered with its reason; processing goes on.
    @Suite struct BadInputTests {
        struct Bad: Sendable {
            var key: String?
            var value: [UInt8]?
            var headers: [KafkaHeader]?
            var reason: String
        }

        @Test func everyKindOfBadInputIsDeadLetteredAndProcessingGoesOn() async throws {
            let harness = try await ProcessHarness(partitions: 2)
            let headers = SampleEvents.headers(userID: 500)
            let good = #"{"user_id": 500, "username": "u", "email": "e@example.org"}"#
            let nearLimit = "{\"user_id\": 500, \"username\": \"u\", \"email\": \"e\", \"pad\": \"" + String(repeating: "x", count: 900_000) + "\"}"
            let bad: [Bad] = [
                Bad(key: "500", value: Array("{not json".utf8), headers: headers, reason: "invalid_json"),
                Bad(key: "500", value: Array(#"{"username": "u", "email": "e"}"#.utf8), headers: headers, reason: "missing_field:user_id"),
                Bad(key: "500", value: Array(#"{"user_id": "500", "username": "u", "email": "e"}"#.utf8), headers: headers, reason: "wrong_type:user_id"),
                Bad(key: "500", value: Array(good.utf8), headers: SampleEvents.headers(userID: 500, type: "org.openedx.other.v1"), reason: "unsupported_type"),
                Bad(key: "500", value: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D], headers: headers, reason: "not_utf8"),
                Bad(key: "500", value: nil, headers: headers, reason: "empty_value"),
                Bad(key: "500", value: [], headers: headers, reason: "empty_value"),
                Bad(key: "500", value: Array(good.utf8), headers: nil, reason: "missing_header:ce_type"),
                Bad(key: "500", value: Array(nearLimit.utf8), headers: headers, reason: "too_large"),
                Bad(key: "501", value: Array(good.utf8), headers: headers, reason: "key_mismatch"),
                Bad(key: "500", value: Array("[1, 2]".utf8), headers: headers, reason: "not_an_object"),
            ]
            try await harness.produce(1...20)
            for item in bad {
                try await harness.cluster.producer.send(
                    topic: harness.cluster.topic, key: item.key.map { Array($0.utf8) }, value: item.value, headers: item.headers,
                    partition: 0)
            }
            try await harness.produce(21...40)
            try harness.startConsumer()
            let done = await harness.waitUntilDone(Set(1...40), timeout: .seconds(90))
            #expect(done, "\(harness.logs)")
            let dlq = try harness.cluster.readAll(topic: "\(harness.cluster.topic).dlq")
            let reasons = dlq.compactMap { $0.header("x-retirement-error") }.map {
                String($0.prefix { $0 != " " }).replacingOccurrences(of: ":", with: "", options: [.anchored, .backwards])
            }
            #expect(dlq.count == bad.count, "dead letters: \(reasons)")
            for item in bad {
                #expect(reasons.contains(item.reason), "no dead letter for \(item.reason); got \(reasons)")
            }
            for record in dlq {
                #expect(record.header("x-retirement-destinations") == "")
                #expect(record.header("x-attempts") == "0")
                #expect(record.header("x-original-partition") == "0")
            }
            let large = dlq.first { $0.header("x-retirement-error")?.hasPrefix("too_large") == true }
            #expect(large?.value?.count == nearLimit.utf8.count, "the near-limit value is kept whole")
            #expect(await harness.stopAll() == [0])
        }
    }
}
