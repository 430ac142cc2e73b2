import Foundation
import Kafka
import OperatorTools
import RetirementEvent
import TestSupport
import Testing

extension ProcessTests {
    @Suite struct KeysCommandTests {
        /// `keys check --config` reads the topics: an old key that sealed a dead-letter record
        /// still owed is not removable; once nothing waits under it, it is.
        @Test func checkWithAConfigReadsTheKeysStillInUse() async throws {
            let cluster = try TestCluster(partitions: 2)
            let directory = makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let old = try Keyring.Key(id: "k-old", created: "2026-01-01T00:00:00Z", secret: [UInt8](repeating: 7, count: 32))
            let new = try Keyring.Key(id: "k-new", created: "2026-02-01T00:00:00Z", secret: [UInt8](repeating: 8, count: 32))
            let ringURL = directory.appendingPathComponent("keyring.json")
            try Keyring(current: "k-new", keys: [old, new]).json.write(to: ringURL, atomically: true, encoding: .utf8)
            let config = directory.appendingPathComponent("config.yaml")
            try cluster.writeConfig(
                to: config, groupID: "keys-check", webhookURL: "http://127.0.0.1:9/erase",
                more: "encryption:\n  keyring_file: \(ringURL.path)\n")
            let env = ["WEBHOOK_SECRET": String(repeating: "s", count: 32)]
            let (freeCode, freeOut) = try await run(["keys", "check", "--config", config.path], in: directory, name: "free", env: env)
            #expect(freeCode == 0, "\(freeOut)")
            #expect(freeOut.contains("remove it from every keyring") && freeOut.contains("topics read: 0 encrypted record(s)"), "\(freeOut)")

            let envelope = try FieldEnvelope.seal(
                plaintext: Array(#"{"username":"u","email":"e@x.org"}"#.utf8), key: old, eventID: SampleEvents.eventID(5), userID: 5)
            try await cluster.producer.send(
                topic: "\(cluster.topic).dlq", key: Array("5".utf8), value: Array(#"{"user_id": 5, "encrypted": \#(envelope)}"#.utf8),
                headers: SampleEvents.headers(userID: 5) + [KafkaHeader(name: "x-retirement-destinations", value: Array("crm".utf8))])
            let (usedCode, usedOut) = try await run(["keys", "check", "--config", config.path, "--strict"], in: directory, name: "used", env: env)
            #expect(usedCode == 1, "\(usedOut)")
            #expect(usedOut.contains("do not remove it") && usedOut.contains("1 in \(cluster.topic).dlq"), "\(usedOut)")
            #expect(!usedOut.contains("remove it from every keyring"), "\(usedOut)")
        }

        func run(_ arguments: [String], in directory: URL, name: String, env: [String: String] = [:]) async throws -> (Int32?, String) {
            let process = try ConsumerProcess(arguments, logURL: directory.appendingPathComponent("\(name).log"), environment: env)
            let code = await process.waitForExit(timeout: .seconds(60))
            if code == nil { process.kill() }
            return (code, process.log)
        }

        @Test func generateListCheck() async throws {
            let directory = makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let ring = directory.appendingPathComponent("keyring.json").path

            // A key entry on stdout.
            let (entryCode, entry) = try await run(["keys", "generate", "--id", "solo"], in: directory, name: "entry")
            #expect(entryCode == 0, "\(entry)")
            #expect(entry.contains("\"id\": \"solo\"") && entry.contains("\"secret\": \""))

            // A new keyring file (owner-only), then a second key made current.
            let (newCode, newOut) = try await run(
                ["keys", "generate", "--keyring", ring, "--id", "k-2026-09", "--created", "2026-09-01T00:00:00Z"], in: directory, name: "new")
            #expect(newCode == 0, "\(newOut)")
            let mode = try FileManager.default.attributesOfItem(atPath: ring)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let (addCode, addOut) = try await run(
                ["keys", "generate", "--keyring", ring, "--id", "k-now", "--make-current"], in: directory, name: "add")
            #expect(addCode == 0, "\(addOut)")
            #expect(addOut.contains("current: k-now"), "\(addOut)")
            let text = try String(contentsOfFile: ring, encoding: .utf8)
            let keyring = try Keyring.parse(text)
            #expect(keyring.keys.map(\.id) == ["k-2026-09", "k-now"] && keyring.current == "k-now")
            let (dupCode, dupOut) = try await run(["keys", "generate", "--keyring", ring, "--id", "k-now"], in: directory, name: "dup")
            #expect(dupCode == 2, "\(dupOut)")
            #expect(dupOut.contains("appears twice"))

            // list: ids, created, current; never a secret.
            let (listCode, listOut) = try await run(["keys", "list", "--keyring", ring], in: directory, name: "list")
            #expect(listCode == 0, "\(listOut)")
            #expect(listOut.contains("k-2026-09") && listOut.contains("2026-09-01T00:00:00Z") && listOut.contains("k-now"))
            let secrets = text.split(separator: "\"").filter { $0.count == 44 && $0.hasSuffix("=") }
            #expect(secrets.count == 2)
            for secret in secrets { #expect(!listOut.contains(secret)) }

            // check: the September key is older than 30 days but its events may remain for 30 days
            // after k-now took over: a note (nothing to do yet), so --strict passes.
            let (checkCode, checkOut) = try await run(["keys", "check", "--keyring", ring], in: directory, name: "check")
            #expect(checkCode == 0, "\(checkOut)")
            #expect(checkOut.contains("ok: keyring valid: 2 key(s); current: k-now"))
            #expect(checkOut.contains("note: key 'k-2026-09'"), "\(checkOut)")
            let (strictCode, strictOut) = try await run(["keys", "check", "--keyring", ring, "--strict"], in: directory, name: "strict")
            #expect(strictCode == 0, "\(strictOut)")
            // A current key older than the longest retention is a warning: rotate; --strict fails.
            let stale = directory.appendingPathComponent("stale.json").path
            let (staleCode, staleOut) = try await run(
                ["keys", "generate", "--keyring", stale, "--id", "k-old", "--created", "2026-09-01T00:00:00Z", "--make-current"],
                in: directory, name: "stale")
            #expect(staleCode == 0, "\(staleOut)")
            let (staleStrict, staleStrictOut) = try await run(["keys", "check", "--keyring", stale, "--strict"], in: directory, name: "stale-strict")
            #expect(staleStrict == 1, "\(staleStrictOut)")
            #expect(staleStrictOut.contains("warning: current key 'k-old'"), "\(staleStrictOut)")
            let (longCode, longOut) = try await run(
                ["keys", "check", "--keyring", stale, "--strict", "--longest-retention", "3650d"], in: directory, name: "long")
            #expect(longCode == 0, "\(longOut)")
            #expect(!longOut.contains("warning"))
            for secret in secrets { #expect(!checkOut.contains(secret)) }

            // check through a config's keyring_env; a broken keyring exits 2 without its secret.
            let config = directory.appendingPathComponent("consumer.yaml")
            try "kafka:\n  bootstrap_servers: \"127.0.0.1:1\"\nencryption:\n  keyring_env: RC_KEYRING\n  longest_retention: 3650d\n"
                .write(to: config, atomically: true, encoding: .utf8)
            let (cfgCode, cfgOut) = try await run(
                ["keys", "check", "--config", config.path, "--strict"], in: directory, name: "cfg", env: ["RC_KEYRING": text])
            #expect(cfgCode == 0, "\(cfgOut)")
            let broken = text.replacingOccurrences(of: "\"current\": \"k-now\"", with: "\"current\": \"k-gone\"")
            let (badCode, badOut) = try await run(
                ["keys", "list", "--config", config.path], in: directory, name: "bad", env: ["RC_KEYRING": broken])
            #expect(badCode == 2, "\(badOut)")
            #expect(badOut.contains("current key 'k-gone' is not in the keyring"), "\(badOut)")
            for secret in secrets { #expect(!badOut.contains(secret)) }
        }
    }
}
