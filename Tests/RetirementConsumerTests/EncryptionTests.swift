import AsyncHTTPClient
import Engine
import Foundation
import Kafka
import OperatorTools
import RetirementEvent
import ServiceRuntime
import Testing

/// Encrypted events as the LMS plugin publishes them (docs/encryption.md), sealed with the same
/// envelope code the vectors check.
enum EncryptedEvents {
    static let old = try! Keyring.Key(id: "k1-old", created: "2026-10-01T00:00:00Z", secret: [UInt8](repeating: 0x11, count: 32))
    static let new = try! Keyring.Key(id: "k2-new", created: "2026-11-01T00:00:00Z", secret: [UInt8](repeating: 0x22, count: 32))
    static let unknown = try! Keyring.Key(id: "k0-never-deployed", created: "2026-09-01T00:00:00Z", secret: [UInt8](repeating: 0x33, count: 32))

    static func email(_ userID: Int) -> String { "secret-learner\(userID)@mail.example.net" }
    static func username(_ userID: Int) -> String { "secret_user_\(userID)" }
    static func fullName(_ userID: Int) -> String { "Secret Name \(userID)" }

    static func envelope(userID: Int, key: Keyring.Key, eventID: String? = nil) throws -> String {
        let plaintext = #"{"username":"\#(username(userID))","email":"\#(email(userID))","full_name":"\#(fullName(userID))"}"#
        return try FieldEnvelope.seal(
            plaintext: Array(plaintext.utf8), key: key, eventID: eventID ?? SampleEvents.eventID(userID), userID: Int64(userID))
    }

    static func value(userID: Int, envelope: String, clear: String = "") -> [UInt8] {
        Array("{\"user_id\": \(userID), \(clear)\"requested_at\": \"2026-11-01T00:00:00Z\", \"encrypted\": \(envelope)}".utf8)
    }

    static func keyringJSON(_ keys: [Keyring.Key], current: String?) throws -> String {
        try Keyring(current: current, keys: keys).json
    }
}

extension ProcessTests {
    /// `run`, `replay` and `dlq redrive` with encrypted events: erased with the clear values,
    /// tampering dead-lettered with its reason, nothing personal in the topics or the logs;
    /// rotation: events under the old and the new key both processed; the old key removed, its
    /// events dead-letter as `key_unavailable`; deployed again, `dlq redrive` applies them.
    @Suite struct EncryptionTests {
        func reasons(_ records: [KafkaMessage]) -> [String] {
            records.map { DeadLetterContract.reasonLabel(ofError: $0.header(DeadLetterContract.Header.error) ?? "") }
        }

        /// Personal values of the encrypted events (users 1...20 and the tampered 30...34).
        func personalValues() -> [String] {
            (Array(1...20) + Array(30...34)).flatMap { [EncryptedEvents.email($0), EncryptedEvents.username($0), EncryptedEvents.fullName($0)] }
        }

        func containsAny(_ bytes: [UInt8]?, _ needles: [String]) -> String? {
            let text = String(decoding: bytes ?? [], as: UTF8.self)
            return needles.first { text.contains($0) }
        }

        @Test func encryptedEventsRotationTamperingAndShredding() async throws {
            let refuse = Unchecked(true)
            let harness = try await ProcessHarness(partitions: 2) { userID, _ in
                refuse.value && userID <= 5 ? .init(status: 400) : .init()
            }
            let keyringURL = harness.directory.appendingPathComponent("keyring.json")
            try EncryptedEvents.keyringJSON([EncryptedEvents.old, EncryptedEvents.new], current: "k2-new")
                .write(to: keyringURL, atomically: true, encoding: .utf8)
            harness.more = """
                encryption:
                  keyring_file: \(keyringURL.path)
                receipts:
                  topic: user-retirement.receipts
                """
            let topic = harness.cluster.topic
            let producer = harness.cluster.producer
            func send(_ userID: Int, _ value: [UInt8], headers: [KafkaHeader]? = nil) async throws {
                try await producer.send(
                    topic: topic, key: Array(String(userID).utf8), value: value, headers: headers ?? SampleEvents.headers(userID: userID))
            }
            // Users 1...10 under the old key, 11...20 under the new one, 21...24 in clear.
            for userID in 1...20 {
                let key = userID <= 10 ? EncryptedEvents.old : EncryptedEvents.new
                try await send(userID, EncryptedEvents.value(userID: userID, envelope: try EncryptedEvents.envelope(userID: userID, key: key)))
            }
            try await SampleEvents.produce(21...24, to: topic, with: producer)
            // Tampering.
            var flipped = Array(try EncryptedEvents.envelope(userID: 30, key: EncryptedEvents.new).utf8)
            let at = flipped.count - 10  // inside the ciphertext's base64
            flipped[at] = flipped[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let moved = try EncryptedEvents.envelope(userID: 31, key: EncryptedEvents.new, eventID: SampleEvents.eventID(11))
            let truncated = try EncryptedEvents.envelope(userID: 32, key: EncryptedEvents.new)
                .replacingOccurrences(of: #""nonce":"[^"]{4}"#, with: "\"nonce\":\"", options: .regularExpression)
            let bad: [(Int, [UInt8], String)] = [
                (30, EncryptedEvents.value(userID: 30, envelope: String(decoding: flipped, as: UTF8.self)), "decryption_failed"),
                (31, EncryptedEvents.value(userID: 31, envelope: moved), "decryption_failed"),
                (32, EncryptedEvents.value(userID: 32, envelope: truncated), "invalid_value:encrypted"),
                (33, EncryptedEvents.value(userID: 33, envelope: try EncryptedEvents.envelope(userID: 33, key: EncryptedEvents.unknown)), "key_unavailable"),
                (
                    34,
                    EncryptedEvents.value(
                        userID: 34, envelope: try EncryptedEvents.envelope(userID: 34, key: EncryptedEvents.new),
                        clear: "\"email\": \"clear-beside-34@mail.example.net\", "), "invalid_value:encrypted"
                ),
            ]
            for (userID, value, _) in bad {
                try await send(userID, value)
            }

            try harness.startConsumer()
            #expect(await harness.waitUntilDone(Set(6...24), timeout: .seconds(90)), "\(harness.logs)")
            // The webhook got the clear values: decrypted with the old key and with the new one.
            for request in harness.webhook.requests where request.userID <= 20 && request.status == 200 {
                #expect(request.email == EncryptedEvents.email(request.userID), "user \(request.userID)")
                #expect(request.username == EncryptedEvents.username(request.userID))
            }
            #expect(harness.webhook.requests.filter { $0.userID == 21 }.first?.email == "learner21@example.org")

            // Dead letters: 5 owed to crm (users 1...5), 5 bad input with their reasons, envelopes untouched.
            let dlq = try harness.cluster.readAll(topic: "\(topic).dlq")
            #expect(dlq.count == 10, "\(reasons(dlq))")
            for (userID, value, reason) in bad {
                let record = dlq.first { $0.key == Array(String(userID).utf8) }
                #expect(record.map { DeadLetterContract.reasonLabel(ofError: $0.header(DeadLetterContract.Header.error) ?? "") } == reason, "user \(userID)")
                #expect(record?.value == value, "the dead letter keeps the original value byte for byte")
            }
            #expect(reasons(dlq).filter { $0 == "destination_failed" }.count == 5)

            // Metrics: the plain events are counted.
            let base = "http://127.0.0.1:\(harness.httpPorts[0])"
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/metrics"), timeout: .seconds(5))
            let metrics = String(buffer: try await response.body.collect(upTo: 1 << 22))
            let plain = metrics.split(separator: "\n").first { $0.hasPrefix("retirement_events_plaintext_total") }
            #expect(plain?.split(separator: " ").last == "4", "\(plain ?? "no plaintext counter")")
            #expect(await harness.stopAll() == [0])

            // No personal value of an encrypted event in the topics (byte scan) or in the log.
            let needles = personalValues()
            for name in [topic, "\(topic).dlq", "user-retirement.receipts"] {
                for record in try harness.cluster.readAll(topic: name) {
                    #expect(containsAny(record.value, needles) == nil, "\(name) holds a personal value in clear")
                    #expect(containsAny(record.key, needles) == nil)
                    for header in record.headers?.all ?? [] { #expect(containsAny(header.value, needles) == nil, "header \(header.name)") }
                }
            }
            #expect(
                containsAny(Array(harness.processes[0].log.utf8), needles + ["clear-beside-34"]) == nil, "the consumer logged a personal value")

            // The old key is removed (shredded). Redrive cannot apply the 5 records crm still owes: it
            // keeps them dead-lettered for crm (exit 1), and the k0 record stays key_unavailable.
            // Replay dead-letters the old key's events as key_unavailable.
            try EncryptedEvents.keyringJSON([EncryptedEvents.new], current: "k2-new").write(to: keyringURL, atomically: true, encoding: .utf8)
            refuse.value = false
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path
            let (redriveCode, redriveOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive-shredded")
            #expect(redriveCode == 1, "\(redriveOut)")
            #expect(redriveOut.contains("redriven 0; dead-lettered again 6"), "\(redriveOut)")
            #expect(redriveOut.contains("still owed by crm: 5"), "\(redriveOut)")
            #expect(redriveOut.contains("key still unavailable (written again; deploy the key, then redrive): 1"), "\(redriveOut)")
            #expect(!harness.webhook.requests.contains { $0.userID <= 5 && $0.status == 200 })

            let (replayCode, replayOut) = try await harness.runCommand(["replay", "--config", config, "--from", "30d"], name: "replay-shredded")
            #expect(replayCode == 0, "\(replayOut)")
            #expect(replayOut.contains("dead-lettered 11"), "k1 events 1...10 and the k0 event: \(replayOut)")
            let afterShred = try harness.cluster.readAll(topic: "\(topic).dlq")
            #expect(reasons(afterShred).filter { $0 == "key_unavailable" }.count == 1 + 1 + 11, "\(reasons(afterShred))")
            for record in afterShred where reasons([record]) == ["key_unavailable"] {
                #expect(record.header("x-retirement-destinations") == "")
                #expect(containsAny(record.value, needles) == nil)
            }
            let keptForCRM = afterShred.filter { ($0.header("x-retirement-error") ?? "").contains("original not decodable (key_unavailable)") }
            #expect(keptForCRM.count == 5 && keptForCRM.allSatisfy { $0.header("x-retirement-destinations") == "crm" })
            for process in ["redrive-shredded", "replay-shredded"] {
                let log = (try? String(contentsOf: harness.directory.appendingPathComponent("\(process).log"), encoding: .utf8)) ?? ""
                #expect(containsAny(Array(log.utf8), needles) == nil, "\(process) logged a personal value")
            }

            // The key comes back (it was removed by mistake): redrive applies the key_unavailable records.
            try EncryptedEvents.keyringJSON([EncryptedEvents.old, EncryptedEvents.new], current: "k2-new")
                .write(to: keyringURL, atomically: true, encoding: .utf8)
            let (againCode, againOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive-restored")
            #expect(againCode == 1, "the k0 event's key never existed: \(againOut)")
            #expect(againOut.contains("redriven 15;"), "\(againOut)")
            #expect(againOut.contains("key still unavailable (written again; deploy the key, then redrive): 2"), "the k0 event: \(againOut)")
            #expect(harness.webhook.erasedUserIDs.isSuperset(of: Set(1...24)))
        }
    }
}
