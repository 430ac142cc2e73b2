import ConfigFile
import Foundation
import Testing

/// YAML loading and `_env` / `_file` indirection (docs/contract.md#config-indirection).
@Suite struct ConfigLoaderTests {
    static let secret = "a-secret-from-the-environment"

    /// Every problem the loader finds: a failure to read the file at all, or the problems of
    /// single keys it keeps in the document.
    func problems(_ yaml: String) -> [String] {
        do {
            return try ConfigLoader.parse(yaml: yaml, environment: [:]).problems.messages
        } catch {
            return (error as? ConfigLoader.Failure)?.problems ?? ["\(error)"]
        }
    }

    /// A document with one secret given through the environment.
    let valid = """
        destinations:
          - name: crm
            secret_env: CRM_SECRET
        """

    /// A YAML error says where, never what the line holds (it may be a secret).
    @Test func yamlErrorsDoNotEchoTheLine() {
        for yaml in [
            "kafka:\n  bootstrap_servers: x\n  password: \"hunter2-in-the-file\n",
            "kafka:\n  bootstrap_servers: x\n  token: [hunter2-in-the-file\n",
            "kafka:\n  bootstrap_servers: x\n\tsecret: hunter2-in-the-file\n",
        ] {
            let found = problems(yaml)
            #expect(found.count == 1 && found[0].hasPrefix("config: not valid YAML: ") && found[0].contains("line"), "\(found)")
            #expect(!found.joined().contains("hunter2"), "\(found)")
        }
    }

    @Test func missingEnvironmentVariableNamesTheKey() {
        #expect(problems(valid) == ["destinations[0].secret_env: environment variable CRM_SECRET is not set"])
    }

    @Test func fileIndirectionReadsAndTrims() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let secret = dir.appendingPathComponent("secret")
        try "from-file-a-secret-of-32-bytes-or-more\n".write(to: secret, atomically: true, encoding: .utf8)
        let yaml = valid.replacingOccurrences(of: "secret_env: CRM_SECRET", with: "secret_file: \(secret.path)")
        let tree = try ConfigLoader.parse(yaml: yaml, environment: [:])
        guard case .list(let list)? = tree.values["destinations"], case .map(let first) = list[0] else { Issue.record("no destinations"); return }
        #expect(first["secret"] == .string("from-file-a-secret-of-32-bytes-or-more"))
        #expect(
            problems(yaml.replacingOccurrences(of: secret.path, with: "/nonexistent/x")) == [
                "destinations[0].secret_file: cannot read file /nonexistent/x"
            ])
    }

    /// `_env` works at every level, inside lists and inside `kafka.properties`; the value is a string.
    @Test func environmentIndirectionAtEveryLevel() throws {
        let yaml = """
            kafka:
              bootstrap_servers_env: BROKERS
              properties:
                sasl.password_env: KAFKA_PASSWORD
            destinations:
              - name: crm
                secret_env: CRM_SECRET
            """
        let tree = try ConfigLoader.parse(
            yaml: yaml, environment: ["BROKERS": "b:9092", "KAFKA_PASSWORD": "pw", "CRM_SECRET": Self.secret])
        #expect(tree.problems.isEmpty)
        guard case .map(let kafka)? = tree.values["kafka"], case .map(let properties)? = kafka["properties"] else {
            Issue.record("no kafka.properties")
            return
        }
        #expect(kafka["bootstrap_servers"] == .string("b:9092"))
        #expect(kafka["bootstrap_servers_env"] == nil)
        #expect(properties["sasl.password"] == .string("pw"))
        guard case .list(let list)? = tree.values["destinations"], case .map(let first) = list[0] else { Issue.record("no destinations"); return }
        #expect(first["secret"] == .string(Self.secret))
    }

    /// A key set twice (directly and through `_env`, or through both `_env` and `_file`) is a problem
    /// naming the key; an indirection that cannot be resolved leaves a placeholder, reported once.
    @Test func conflictingAndUnresolvedIndirections() throws {
        let yaml = """
            a: 1
            a_env: A
            b_env: B
            b_file: /nonexistent/b
            c_env: ""
            d_file: /nonexistent/d
            """
        let tree = try ConfigLoader.parse(yaml: yaml, environment: ["A": "x", "B": "y"])
        #expect(tree.problems.messages.contains("a: set both directly and through 'a_env'; keep one"))
        #expect(tree.problems.messages.contains("b: set through both 'b_env' and 'b_file'; keep one"))
        #expect(tree.problems.messages.contains("c_env: must name an environment variable"))
        #expect(tree.problems.messages.contains("d_file: cannot read file /nonexistent/d"))
        // The `_file` of a doubly given key is still read, and reported when it cannot be.
        #expect(tree.problems.messages.contains("b_file: cannot read file /nonexistent/b"))
        #expect(tree.problems.messages.count == 5, "\(tree.problems.messages)")
        #expect(tree.values["a"] == .int(1))
        #expect(tree.values["d"] == .string(ConfigValue.unresolvedText))
    }

    /// YAML scalars become typed values: plain words are booleans, integers and numbers; quoted text stays text.
    @Test func scalarsAreTyped() throws {
        let tree = try ConfigLoader.parse(
            yaml: "i: 5\nd: 1.5\nb: true\ns: \"5\"\nn: null\nl: [x, 2]\nm: {k: v}\n", environment: [:])
        #expect(tree.values["i"] == .int(5))
        #expect(tree.values["d"] == .double(1.5))
        #expect(tree.values["b"] == .bool(true))
        #expect(tree.values["s"] == .string("5"))
        #expect(tree.values["n"] == .null)
        #expect(tree.values["l"] == .list([.string("x"), .int(2)]))
        #expect(tree.values["m"] == .map(["k": .string("v")]))
    }

    @Test func emptyOrNonMappingFilesAreRefused() {
        #expect(problems("") == ["config: the file is empty"])
        #expect(problems("- a\n- b\n") == ["config: the top level must be a mapping"])
        #expect(throws: ConfigLoader.Failure.self) { try ConfigLoader.load(path: "/nonexistent/retirement.yaml") }
    }

    /// Subcommands that never call a destination do not need its secrets.
    @Test func skippingDestinationsSkipsTheirIndirections() throws {
        let tree = try ConfigLoader.parse(yaml: "kafka:\n  topic: t\n" + valid, environment: [:], skipDestinations: true)
        #expect(tree.problems.isEmpty)
        #expect(tree.values["destinations"] == nil)
        #expect(tree.values["kafka"] != nil)
    }
}
