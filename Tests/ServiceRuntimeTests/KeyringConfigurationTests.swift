import ConfigFile
import Foundation
import RetirementEvent
import ServiceRuntime
import Testing

/// `encryption:` in the config: where the keyring comes from and what `required` needs.
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
}
