import AsyncHTTPClient
import Engine
import Foundation
import Kafka
import OperatorTools
import Testing

extension ProcessTests {
    /// `encryption.required: true` (docs/encryption.md#integrity): an event that no holder of the
    /// keyring sealed erases nobody, in `run`, `dlq redrive` and `replay`, whatever headers a
    /// dead-letter record carries.
    @Suite struct RequiredEncryptionTests {
        static let forgedUsers = Array(101...110)

        @Test func forgedPlainEventsAndDeadLetterRecordsEraseNobody() async throws {
            let harness = try await ProcessHarness(partitions: 2)
            let keyringURL = harness.directory.appendingPathComponent("keyring.json")
            try EncryptedEvents.keyringJSON([EncryptedEvents.new], current: "k2-new").write(to: keyringURL, atomically: true, encoding: .utf8)
            harness.more = """
                encryption:
                  keyring_file: \(keyringURL.path)
                  required: true
                """
            let topic = harness.cluster.topic
            let producer = harness.cluster.producer
            // 30 sealed events, and 10 plain events naming people who never asked.
            for userID in 1...30 {
                try await producer.send(
                    topic: topic, key: Array(String(userID).utf8),
                    value: EncryptedEvents.value(userID: userID, envelope: try EncryptedEvents.envelope(userID: userID, key: EncryptedEvents.new)),
                    headers: SampleEvents.headers(userID: userID))
            }
            for userID in Self.forgedUsers {
                try await producer.send(
                    topic: topic, key: Array(String(userID).utf8), value: SampleEvents.value(userID: userID),
                    headers: SampleEvents.headers(userID: userID))
            }
            // Forged dead-letter records: a plain value claiming to owe the webhook, and one
            // claiming to be a key_unavailable record (which a redrive tries at every destination).
            func forgedDeadLetter(_ userID: Int, error: String, owed: String) async throws {
                var headers = SampleEvents.headers(userID: userID)
                headers.append(KafkaHeader(name: DeadLetterContract.Header.error, value: Array(error.utf8)))
                headers.append(KafkaHeader(name: DeadLetterContract.Header.destinations, value: Array(owed.utf8)))
                try await producer.send(
                    topic: "\(topic).dlq", key: Array(String(userID).utf8), value: SampleEvents.value(userID: userID), headers: headers)
            }
            try await forgedDeadLetter(201, error: "crm: HTTP 503", owed: "crm")
            try await forgedDeadLetter(202, error: "key_unavailable: the event is encrypted under key 'k9'", owed: "")

            try harness.startConsumer()
            #expect(await harness.waitUntilDone(Set(1...30), timeout: .seconds(90)), "\(harness.logs)")
            let forged = Set(Self.forgedUsers + [201, 202])
            #expect(harness.webhook.requests.filter { forged.contains($0.userID) }.isEmpty, "a forged event reached the webhook")

            let dlq = try harness.cluster.readAll(topic: "\(topic).dlq")
            let refused = dlq.filter {
                DeadLetterContract.reasonLabel(ofError: $0.header(DeadLetterContract.Header.error) ?? "") == "not_encrypted"
            }
            #expect(refused.count == Self.forgedUsers.count, "\(dlq.map { $0.header(DeadLetterContract.Header.error) ?? "" })")
            #expect(refused.allSatisfy { $0.header(DeadLetterContract.Header.destinations) == "" }, "bad input owes nothing")

            let base = "http://127.0.0.1:\(harness.httpPorts[0])"
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/metrics"), timeout: .seconds(5))
            let metrics = String(buffer: try await response.body.collect(upTo: 1 << 22))
            let counter = metrics.split(separator: "\n").first { $0.hasPrefix("retirement_events_refused_plaintext_total") }
            #expect(counter?.split(separator: " ").last == "10", "\(counter ?? "no refused-plaintext counter")")
            #expect(await harness.stopAll() == [0])
            #expect(harness.processes[0].log.contains("required"), "the start-up log states the encryption mode")

            // A redrive applies no forged record, whatever its headers say; it keeps the one that
            // claims to owe crm dead-lettered for crm (its value no longer decodes).
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path
            let (redriveCode, redriveOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive")
            #expect(redriveCode == 1, "\(redriveOut)")
            #expect(redriveOut.contains("redriven 0;"), "\(redriveOut)")
            let (replayCode, replayOut) = try await harness.runCommand(["replay", "--config", config, "--from", "30d"], name: "replay")
            #expect(replayCode == 0, "\(replayOut)")
            #expect(harness.webhook.requests.filter { forged.contains($0.userID) }.isEmpty, "a forged event reached the webhook")
            let again = try harness.cluster.readAll(topic: "\(topic).dlq")
            let keptForCRM = again.filter { ($0.header(DeadLetterContract.Header.error) ?? "").contains("original not decodable (not_encrypted)") }
            #expect(keptForCRM.count == 1 && keptForCRM.allSatisfy { $0.header(DeadLetterContract.Header.destinations) == "crm" })
        }
    }
}
