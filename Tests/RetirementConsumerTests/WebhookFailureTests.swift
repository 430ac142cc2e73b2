import Foundation
import OperatorTools
import Testing

extension ProcessTests {
    /// A flaky webhook (503s, 429 with Retry-After), then a permanent 400 for some users: those are
    /// dead-lettered with the contract's headers naming the destination; the others are erased.
    @Suite struct WebhookFailureTests {
        @Test func flakyThenPermanentFailures() async throws {
            let harness = try await ProcessHarness(partitions: 4) { userID, attempt in
                switch userID {
                case 1...10: return .init(status: 400)
                case 11...30: return attempt <= 2 ? .init(status: 503) : .init()
                case 31...40: return attempt == 1 ? .init(status: 429, headers: [("Retry-After", "1")]) : .init()
                default: return .init()
                }
            }
            harness.processing = "  max_in_flight: 20"
            let placed = try await harness.produce(1...100)
            try harness.startConsumer()
            let done = await harness.waitUntilDone(Set(11...100), timeout: .seconds(90))
            #expect(done, "\(harness.logs)")
            let dlq = try harness.cluster.readAll(topic: "\(harness.cluster.topic).dlq")
            let dlqUsers = Set(dlq.compactMap { $0.key.map { Int(String(decoding: $0, as: UTF8.self)) ?? -1 } })
            #expect(dlqUsers == Set(1...10))
            for record in dlq {
                let user = Int(String(decoding: record.key ?? [], as: UTF8.self)) ?? -1
                #expect(record.header("x-retirement-destinations") == "crm")
                #expect(record.header("x-retirement-error")?.contains("HTTP 400") == true)
                #expect(record.header("x-original-topic") == harness.cluster.topic)
                #expect(record.header("x-original-partition") == placed[user].map { String($0.topicPartition.partition) })
                #expect(record.header("x-original-offset") == placed[user].map { String($0.offset) })
                #expect(record.header("x-attempts") == "1")
                #expect(record.header("ce_id") == SampleEvents.eventID(user))
                #expect(record.value == SampleEvents.value(userID: user))
            }
            // 503s were retried; 429s waited for Retry-After before the next attempt.
            let requests = harness.webhook.requests
            for user in 11...30 { #expect(requests.filter { $0.userID == user }.count == 3) }
            for user in 31...40 {
                let times = requests.filter { $0.userID == user }.map(\.time)
                #expect(times.count == 2)
                if times.count == 2 { #expect(times[1] - times[0] >= 0.95, "retried after \(times[1] - times[0]) s") }
            }
            #expect(harness.webhook.protocolViolations.isEmpty)
            #expect(await harness.stopAll() == [0])

            // The original record's timestamp travels with the dead letter, and a redrive that
            // writes it again (users 1...10 still refused) keeps it.
            let originals = try harness.cluster.readAll(topic: harness.cluster.topic)
            let sent = Dictionary(originals.map { (String(decoding: $0.key ?? [], as: UTF8.self), $0.timestamp) }) { first, _ in first }
            for record in dlq {
                #expect(record.header("x-original-timestamp") == sent[String(decoding: record.key ?? [], as: UTF8.self)].map { "\($0 ?? -1)" })
            }
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path
            let (code, output) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive")
            #expect(code == 1, "\(output)")
            let again = try harness.cluster.readAll(topic: "\(harness.cluster.topic).dlq").suffix(10)
            #expect(again.count == 10)
            for record in again {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                #expect(record.header("x-original-timestamp") == sent[key].map { "\($0 ?? -1)" }, "user \(key)")
            }
        }
    }
}
