import App
import ConfigFile
import Foundation
import Kafka
import RetirementEvent
import TestSupport
import Testing

/// `encryption:` in the config, the keyring audit behind `keys check`, and `keys` as an operator runs it.
@Suite struct KeyringConfigurationTests {
    static let secret = Base64.encode([UInt8](repeating: 9, count: 32))
    static let keyring = #"{"current": "k1", "keys": [{"id": "k1", "created": "2026-11-01T00:00:00Z", "secret": "\#(secret)"}]}"#
    let base = """
        kafka:
          bootstrap_servers: "127.0.0.1:9092"
        """

    func parse(_ yaml: String, env: [String: String] = [:]) throws -> ServiceConfiguration {
        try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: env), requireDestinations: false)
    }

    @Test func keyringFromEnvironmentOrFile() throws {
        let fromEnv = try parse(base + "\nencryption:\n  keyring_env: RC_KEYRING\n", env: ["RC_KEYRING": Self.keyring])
        #expect(fromEnv.encryption.keyring?.current == "k1")
        #expect(fromEnv.encryption.longestRetention == .seconds(30 * 86_400))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Self.keyring + "\n").write(to: file, atomically: true, encoding: .utf8)
        let fromFile = try parse(base + "\nencryption:\n  keyring_file: \(file.path)\n  longest_retention: 14d\n")
        #expect(fromFile.encryption.keyring?.keys.map(\.id) == ["k1"])
        #expect(fromFile.encryption.longestRetention == .seconds(14 * 86_400))
        #expect(try parse(base).encryption.keyring == nil)
    }

    /// `encryption.required` needs a keyring; with one it is read, and the mode says what happens
    /// to plain events.
    @Test func requiredEncryptionNeedsAKeyring() throws {
        do {
            _ = try parse(base + "\nencryption:\n  required: true\n")
            Issue.record("accepted required without a keyring")
        } catch let failure as ConfigLoader.Failure {
            #expect(failure.problems.count == 1 && failure.problems[0].hasPrefix("encryption.required: needs a keyring"), "\(failure.problems)")
        }
        let required = try parse(base + "\nencryption:\n  keyring_env: RC_KEYRING\n  required: true\n", env: ["RC_KEYRING": Self.keyring])
        #expect(required.encryption.required && EncryptionMode(required.encryption) == .required)
        let optional = try parse(base + "\nencryption:\n  keyring_env: RC_KEYRING\n", env: ["RC_KEYRING": Self.keyring])
        #expect(!optional.encryption.required && EncryptionMode(optional.encryption) == .optional)
        #expect(EncryptionMode(try parse(base).encryption) == .off)
        // A keyring that cannot be read is its own problem, not a second one about `required`.
        do {
            _ = try parse(base + "\nencryption:\n  keyring_env: RC_MISSING\n  required: true\n")
            Issue.record("accepted")
        } catch let failure as ConfigLoader.Failure {
            #expect(failure.problems == ["encryption.keyring_env: environment variable RC_MISSING is not set"])
        }
    }

    @Test func invalidKeyringIsAConfigProblemWithoutTheSecret() {
        let broken = Self.keyring.replacingOccurrences(of: "\"current\": \"k1\"", with: "\"current\": \"k9\"")
        do {
            _ = try parse(base + "\nencryption:\n  keyring_env: RC_KEYRING\n  typo: 1\n", env: ["RC_KEYRING": broken])
            Issue.record("accepted")
        } catch let failure as ConfigLoader.Failure {
            #expect(failure.problems.contains { $0.hasPrefix("encryption.keyring: current key 'k9' is not in the keyring") }, "\(failure.problems)")
            #expect(failure.problems.contains("encryption.typo: unknown key"))
            #expect(!failure.description.contains(Self.secret))
        } catch {
            Issue.record("\(error)")
        }
        do {
            _ = try parse(base + "\nencryption:\n  keyring_env: RC_MISSING\n")
            Issue.record("accepted")
        } catch let failure as ConfigLoader.Failure {
            #expect(failure.problems == ["encryption.keyring_env: environment variable RC_MISSING is not set"])
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func auditWarnsAboutKeysOlderThanTheLongestRetention() throws {
        let day = 86_400.0
        let now = RFC3339.parse("2026-12-31T00:00:00Z")!
        func key(_ id: String, _ created: String) throws -> Keyring.Key {
            try Keyring.Key(id: id, created: created, secret: [UInt8](repeating: 1, count: 32))
        }
        // k-a replaced by k-b 45 days ago: removable. k-b replaced by k-c 20 days ago: old, still needed.
        let ring = try Keyring(
            current: "k-c",
            keys: [try key("k-a", "2026-10-01T00:00:00Z"), try key("k-b", "2026-11-16T00:00:00Z"), try key("k-c", "2026-12-11T00:00:00Z")])
        let findings = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now)
        #expect(findings.map(\.keyID) == ["k-a", "k-b"])
        #expect(findings[0].message.contains("remove it from every keyring"))
        #expect(findings[1].message.contains("may remain until 2027-01-10T00:00:00Z"))
        // Removable now: a warning. Still needed until a date: a note (nothing to do before it).
        #expect(findings.map(\.level) == [.warning, .note])
        // The current key itself past retention: rotate.
        let stale = try Keyring(current: "k-a", keys: [try key("k-a", "2026-10-01T00:00:00Z")])
        #expect(KeyringAudit.check(stale, longestRetention: .seconds(30 * 86_400), now: now).first?.message.contains("generate a new current key") == true)
        // Young keys, no current key: only a note.
        let young = try Keyring(current: nil, keys: [try key("k-c", "2026-12-11T00:00:00Z")])
        #expect(KeyringAudit.check(young, longestRetention: .seconds(30 * 86_400), now: now).map(\.level) == [.note])
        #expect(KeyringAudit.check(young, longestRetention: .seconds(30 * 86_400), now: now + 40 * day).map(\.level) == [.note, .note])
    }

    /// A key that records still waiting in the topics are sealed under is never called
    /// removable; topics that could not be read confirm nothing.
    @Test func aKeyStillSealingWaitingRecordsIsNotRemovable() throws {
        let now = RFC3339.parse("2026-12-31T00:00:00Z")!
        func key(_ id: String, _ created: String) throws -> Keyring.Key {
            try Keyring.Key(id: id, created: created, secret: [UInt8](repeating: 1, count: 32))
        }
        let ring = try Keyring(current: "k-b", keys: [try key("k-a", "2026-10-01T00:00:00Z"), try key("k-b", "2026-11-16T00:00:00Z")])
        let used = KeyringAudit.check(
            ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .read(["k-a": ["user-retirement.dlq": 3]]))
        // k-b, the current key, is past the retention too: its own finding (rotate) is unchanged.
        let usedA = used.filter { $0.keyID == "k-a" }
        #expect(usedA.count == 1 && usedA[0].level == .warning && usedA[0].message.contains("do not remove it"), "\(used)")
        #expect(usedA[0].message.contains("3 in user-retirement.dlq") && !usedA[0].message.contains("remove it from every keyring"))
        let unread = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .unreadable("broker down"))
            .filter { $0.keyID == "k-a" }
        #expect(unread.count == 1 && unread[0].message.contains("could not be read") && !unread[0].message.contains("remove it from every keyring"))
        let clean = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .read(["k-b": ["user-retirement": 1]]))
        #expect(clean.first { $0.keyID == "k-a" }?.message.contains("remove it from every keyring") == true)
    }
}

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
