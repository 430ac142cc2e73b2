import ArgumentParser
import ConfigFile
import Foundation
import Logging
import OperatorTools
import RetirementEvent
import ServiceRuntime

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate, list and check the keyring that encrypts learners' personal fields (docs/encryption.md).",
        subcommands: [GenerateCommand.self, ListCommand.self, CheckCommand.self])

    /// Where a keyring is read from: a keyring file, or the config's `encryption.keyring`.
    struct Source: ParsableArguments {
        @Option(help: "A keyring file (JSON).") var keyring: String?
        @Option(help: "A config file whose encryption.keyring (keyring_file / keyring_env) is used.") var config: String?

        func validate() throws {
            if (keyring == nil) == (config == nil) { throw ValidationError("give exactly one of --keyring and --config") }
        }

        /// The keyring and the configured longest retention.
        func load() throws -> (Keyring, Duration) {
            if let keyring { return (try readKeyringFile(keyring), ServiceConfiguration.EncryptionSection().longestRetention) }
            let config = try loadConfiguration(config!, requireDestinations: false)
            guard let ring = config.encryption.keyring else {
                printError("\(self.config!): no encryption.keyring (keyring_file / keyring_env) is configured")
                throw ExitCode(2)
            }
            return (ring, config.encryption.longestRetention)
        }
    }

    struct GenerateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Make a new random AES-256 key.",
            discussion: """
                Without --keyring: prints the new key entry (with its secret) on stdout. With --keyring FILE: \
                creates FILE (mode 0600) with the key as current, or adds the key to FILE; --make-current makes it \
                the key producers encrypt with. Deploy a new current key to every consumer before any producer.
                """)

        @Option(help: "Key id ([A-Za-z0-9._-]{1,64}); default: k-<UTC date and time>.") var id: String?
        @Option(help: "Creation time (RFC 3339); default: now.") var created: String?
        @Option(help: "The keyring file to create or add to.") var keyring: String?
        @Flag(help: "Make the new key the current one (always so in a new keyring file).") var makeCurrent = false

        func run() async throws {
            let now = Date()
            let created = created ?? KeyringAudit.nowRFC3339()
            let id = id ?? "k-" + Self.idStamp(now)
            let key: Keyring.Key
            do {
                key = try Keyring.Key.generate(id: id, created: created)
            } catch {
                throw ValidationError(error.description)
            }
            guard let path = keyring else {
                print(key.entryJSON)
                return
            }
            let updated: Keyring
            if FileManager.default.fileExists(atPath: path) {
                do {
                    updated = try readKeyringFile(path).adding(key, makeCurrent: makeCurrent)
                } catch let invalid as Keyring.Invalid {
                    printError("\(path): \(invalid)")
                    throw ExitCode(2)
                }
            } else {
                updated = try Keyring(current: key.id, keys: [key])
            }
            try writeKeyringFile(updated, to: path)
            print("key \(key.id) added to \(path); current: \(updated.current ?? "-"); keys: \(updated.keys.map(\.id).joined(separator: ", "))")
        }

        static func idStamp(_ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            return formatter.string(from: date)
        }
    }

    struct ListCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "The keys' ids, creation times and which is current (never the secrets).")

        @OptionGroup var source: Source

        func run() async throws {
            let (keyring, _) = try source.load()
            let now = Date().timeIntervalSince1970
            print(pad("id", 34) + pad("created", 28) + pad("age", 12) + "current")
            for key in keyring.keys {
                print(pad(key.id, 34) + pad(key.created, 28) + pad(KeyringAudit.days(now - key.createdAt), 12) + (key.id == keyring.current ? "yes" : ""))
            }
        }
    }

    struct CheckCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a keyring; warn about keys older than the longest retention.",
            discussion: """
                Exits 2 when the keyring is invalid; 0 otherwise (1 with --strict when there are warnings). \
                The longest retention is encryption.longest_retention of the config (default 30d, the \
                dead-letter topic's retention) or --longest-retention.
                """)

        @OptionGroup var source: Source
        @Option(help: "The longest time an event stays in any topic (e.g. 30d); overrides the config.")
        var longestRetention: String?
        @Flag(help: "Exit 1 when there are warnings.") var strict = false

        func run() async throws {
            let (keyring, configured) = try source.load()
            var retention = configured
            if let text = longestRetention {
                guard let value = DurationText.parse(text), value > .zero else {
                    throw ValidationError("--longest-retention must be a duration like 30d or 720h")
                }
                retention = value
            }
            var evidence = KeyUsageScan.Evidence.notChecked
            if let path = source.config {
                // With a config, the topics say which keys records still waiting are sealed under.
                let config = try loadConfiguration(path, requireDestinations: false)
                LogSetup.bootstrap(format: .text, level: .error)
                do {
                    evidence = .read(try KeyUsageScan.scan(config, logger: Logger(label: "keys-check")))
                } catch {
                    evidence = .unreadable("\(error)")
                }
            }
            let findings = KeyringAudit.check(keyring, longestRetention: retention, now: Date().timeIntervalSince1970, evidence: evidence)
            print("ok: keyring valid: \(keyring.keys.count) key(s); current: \(keyring.current ?? "-")")
            if case .read(let usage) = evidence {
                let sealed = usage.values.reduce(0) { $0 + $1.values.reduce(0, +) }
                print(
                    "topics read: \(sealed) encrypted record(s) still waiting, under \(usage.isEmpty ? "no key" : usage.keys.sorted().joined(separator: ", "))")
            }
            for finding in findings { print(finding.description) }
            if strict, findings.contains(where: { $0.level == .warning }) { throw ExitCode(1) }
        }
    }
}

/// Reads and validates a keyring file; exits 2 with the problem (never a secret) when invalid.
func readKeyringFile(_ path: String) throws -> Keyring {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        printError("\(path): cannot read the keyring file")
        throw ExitCode(2)
    }
    do {
        return try Keyring.parse(text)
    } catch {
        printError("\(path): invalid keyring: \(error)")
        throw ExitCode(2)
    }
}

/// Writes a keyring file readable by its owner only, atomically (a temporary file renamed over it).
func writeKeyringFile(_ keyring: Keyring, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: Data(keyring.json.utf8), attributes: [.posixPermissions: 0o600])
    else {
        printError("\(path): cannot write the keyring file")
        throw ExitCode(1)
    }
    if rename(temporary.path, url.path) != 0 {
        try? FileManager.default.removeItem(at: temporary)
        printError("\(path): cannot replace the keyring file")
        throw ExitCode(1)
    }
}
