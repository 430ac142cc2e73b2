import App
import ConfigFile
import Foundation
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
}

extension ProcessTests {
    @Suite struct KeysCommandTests {
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
