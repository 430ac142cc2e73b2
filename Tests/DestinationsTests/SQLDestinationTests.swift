import ConfigFile
import Engine
import Foundation
import PostgresNIO
import TestSupport
import Testing

@testable import Destinations

/// Parameter translation (no server needed).
@Suite struct SQLTranslationTests {
    @Test func namedParametersBecomeNumberedBinds() throws {
        let statement = try SQLDestination.translate(
            "UPDATE t SET a = :retired_username, b = ':email', c = \"x:y\"::text -- :username\n WHERE id = :user_id OR a = :retired_username /* :event_id */")
        #expect(statement.sql == "UPDATE t SET a = $1, b = ':email', c = \"x:y\"::text -- :username\n WHERE id = $2 OR a = $1 /* :event_id */")
        #expect(statement.parameters == ["retired_username", "user_id"])
        #expect(throws: SQLDestination.UnknownParameter(name: "password")) { try SQLDestination.translate("SELECT :password") }
    }

    @Test func unknownParametersAreConfigurationProblems() {
        let problems = Fixture.problems([
            "name": .string("db"), "type": .string("sql"), "url": .string("postgres://u:p@127.0.0.1:5432/x"),
            "statements": .list([.string("DELETE FROM t WHERE id = :userid")]),
        ])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("unknown parameter :userid") == true)
    }
}

/// Against a real PostgreSQL (`scripts/with-postgres.sh`); fails loudly when none is given,
/// unless `RETIREMENT_SKIP_POSTGRES=1`.
@Suite(.serialized) struct SQLDestinationTests {
    static var url: String? {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["RETIREMENT_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        if environment["RETIREMENT_SKIP_POSTGRES"] != "1" {
            Issue.record(
                "RETIREMENT_TEST_POSTGRES_URL is not set: run the tests under scripts/with-postgres.sh (or set RETIREMENT_SKIP_POSTGRES=1 to skip the sql destination tests knowingly)"
            )
        }
        return nil
    }

    static func settings(_ url: String, _ statements: [String], _ extra: [String: ConfigValue] = [:]) -> [String: ConfigValue] {
        var map: [String: ConfigValue] = [
            "name": .string("lms-db"), "type": .string("sql"), "url": .string(url), "tls": .string("disable"),
            "statements": .list(statements.map { .string($0) }),
        ]
        map.merge(extra) { $1 }
        return map
    }

    /// Runs admin SQL through the destination machinery's own driver.
    static func admin(_ url: String, _ sql: String) async throws {
        let components = try #require(URLComponents(string: url))
        let configuration = PostgresConnection.Configuration(
            host: components.host!, port: components.port!, username: components.user!, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Fixture.logger())
        for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Fixture.logger())
        }
        try await connection.close()
    }

    static let schema = """
        DROP TABLE IF EXISTS learners; DROP TABLE IF EXISTS notes;
        CREATE TABLE learners (id integer PRIMARY KEY, username text, email text NOT NULL, retired text);
        CREATE TABLE notes (learner_id integer, body text);
        INSERT INTO learners VALUES (1, 'learner1', 'Learner1@Example.org', NULL), (2, 'learner2', 'Learner2@Example.org', NULL);
        INSERT INTO notes VALUES (1, 'a'), (1, 'b'), (2, 'c')
        """

    static let statements = [
        "DELETE FROM notes WHERE learner_id = :user_id",
        "UPDATE learners SET email = :retired_email, username = :retired_username, retired = :event_id WHERE id = :user_id AND email = :email",
    ]

    @Test func erasesInOneTransactionAndZeroRowsIsAlreadyGone() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        try await Fixture.withTransport { transport in
            let pipeline = try Fixture.pipeline(Self.settings(url, Self.statements), transport: transport)
            #expect(await pipeline.check() == [])
            #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))
            // The same event again: nothing left to change.
            #expect(await pipeline.apply(Fixture.event(1)) == .alreadyGone)
            #expect(await pipeline.apply(Fixture.event(99)) == .alreadyGone)
        }
    }

    /// TLS is required by default (certificate and host verified): against a server without
    /// TLS nothing is sent in plain text; the url's `sslmode` is honoured; no silent fallback.
    @Test func tlsIsRequiredByDefaultAndSSLModeIsHonoured() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        var byDefault = Self.settings(url, Self.statements)
        byDefault["tls"] = nil
        try await Fixture.withTransport { transport in
            let pipeline = try Fixture.pipeline(byDefault, transport: transport)
            let outcome = await pipeline.apply(Fixture.event(1))
            #expect(outcome.isConfigurationError && outcome.reason.contains("does not support TLS"), "\(outcome)")
            // Nothing was done in plain text: learner 1 is still there for a connection that says disable.
            var disabled = byDefault
            disabled["url"] = .string(url + "?sslmode=disable")
            let plain = try Fixture.pipeline(disabled, transport: transport)
            #expect(await plain.apply(Fixture.event(1)) == .erased(jobID: nil))
        }
        var prefer = byDefault
        prefer["url"] = .string(url + "?sslmode=prefer")
        #expect(Fixture.problems(prefer).contains { $0.contains("sslmode=prefer would fall back to plain text") }, "\(Fixture.problems(prefer))")
        var unknown = byDefault
        unknown["url"] = .string(url + "?sslmode=require&options=-csearch_path%3Dx")
        #expect(Fixture.problems(unknown).contains { $0.contains("unknown parameter 'options'") && !$0.contains("search_path") })
        var tlsPrefer = byDefault
        tlsPrefer["tls"] = .string("prefer")
        #expect(Fixture.problems(tlsPrefer).contains { $0.contains("prefer is not supported") })
        var conflict = byDefault
        conflict["url"] = .string(url + "?sslmode=verify-full")
        conflict["tls"] = .string("disable")
        #expect(Fixture.problems(conflict).contains { $0.contains("the url's sslmode says require") })
    }

    /// At `logging.level: trace` the driver's wire trace (bind values: the learner's email and
    /// username) stays off.
    @Test func theDriverLogsNoBindValuesAtTrace() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        let log = CapturedLog()
        let transport = HTTPTransport()
        let problems = ConfigProblems()
        // A statement that returns the learner's row: the driver traces every backend message.
        let statements = Self.statements + ["UPDATE learners SET retired = :event_id WHERE id = :user_id RETURNING username, email"]
        let reader = SettingsReader(path: "destinations[0]", values: Self.settings(url, statements), problems: problems)
        let pipeline = try #require(
            DestinationRegistry.build([reader], context: DestinationContext(transport: transport, logger: log.logger(level: .trace))).first)
        #expect(await pipeline.apply(Fixture.event(1)) == .erased(jobID: nil))
        await transport.shutdown()
        // In clear or as the hex the driver prints buffers in.
        for value in ["retired__user_1", "learner1"] {
            let hex = value.utf8.map { String($0, radix: 16) }.joined()
            #expect(!log.text.contains(value) && !log.text.contains(hex), "\(value) in the driver's log")
        }
    }

    @Test func aFailingStatementRollsBackTheEarlierOnes() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        try await Fixture.withTransport { transport in
            let pipeline = try Fixture.pipeline(Self.settings(url, Self.statements), transport: transport)
            // retired_email missing → NULL into a NOT NULL column: SQLSTATE 23502, permanent.
            var event = Fixture.event(2)
            event.retiredEmail = nil
            let outcome = await pipeline.apply(event)
            #expect(outcome == .permanent(reason: "SQLSTATE 23502 in statements[1]"))
            #expect(!outcome.reason.contains("Learner2"))
            // statements[0] was rolled back: learner 2's note is still there, so a fixed event erases.
            #expect(await pipeline.apply(Fixture.event(2)) == .erased(jobID: nil))
        }
    }

    @Test func brokenStatementsAndRefusedLoginsAreConfigurationErrors() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        try await Fixture.withTransport { transport in
            let broken = try Fixture.pipeline(Self.settings(url, ["DELETE FROM notes WHERE nosuchcolumn = :user_id"]), transport: transport)
            #expect(await broken.apply(Fixture.event(1)) == .configurationError(reason: "SQLSTATE 42703 in statements[0]"))
            let problems = await broken.check()
            #expect(problems.count == 1 && problems[0].contains("42703"))

            var components = try #require(URLComponents(string: url))
            components.password = "wrong-password"
            let refused = try Fixture.pipeline(Self.settings(components.string!, Self.statements), transport: transport)
            let outcome = await refused.apply(Fixture.event(1))
            #expect(outcome.isConfigurationError)
            #expect(outcome.reason.hasPrefix("SQLSTATE 28"))
        }
    }

    @Test func unreachableServerIsTransient() async throws {
        guard Self.url != nil else { return }
        try await Fixture.withTransport { transport in
            // Port 1 on localhost: connection refused.
            let pipeline = try Fixture.pipeline(Self.settings("postgres://u:p@127.0.0.1:1/x", Self.statements), transport: transport)
            #expect(await pipeline.apply(Fixture.event(1)).isTransient)
            #expect(await pipeline.check().count == 1)
        }
    }

    /// A statement blocked on a row lock another session holds ends at `lock_timeout` with
    /// SQLSTATE 55P03 (transient) instead of holding the call, its connection and its slot.
    @Test func aStatementBlockedOnALockEndsAtTheLockTimeout() async throws {
        guard let url = Self.url else { return }
        try await Self.admin(url, Self.schema)
        let components = try #require(URLComponents(string: url))
        let holder = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: components.host!, port: components.port!, username: components.user!, password: components.password,
                database: String(components.path.dropFirst()), tls: .disable),
            id: 9, logger: Fixture.logger())
        try await holder.query("BEGIN", logger: Fixture.logger())
        try await holder.query("SELECT id FROM learners WHERE id = 1 FOR UPDATE", logger: Fixture.logger())
        try await Fixture.withTransport { transport in
            let pipeline = try Fixture.pipeline(
                Self.settings(url, Self.statements, ["lock_timeout": .string("300ms"), "call_timeout": .string("5s")]),
                transport: transport)
            let started = ContinuousClock.now
            let outcome = await pipeline.apply(Fixture.event(1))
            #expect(outcome == .transient(reason: "SQLSTATE 55P03 in statements[1]", retryAfter: nil))
            #expect(ContinuousClock.now - started < .seconds(3))
        }
        try await holder.query("ROLLBACK", logger: Fixture.logger())
        try await holder.close()
    }

    /// A long statement is ended by the server's `statement_timeout`, set below `call_timeout`.
    /// The margin between the two is wide (0.3 s against 5 s): the connection, `BEGIN` and the
    /// `SET LOCAL`s come out of the call's time too, and a loaded CI machine once took more than
    /// the default's 0.2 s of a 1 s call for them.
    @Test func aLongStatementEndsBeforeTheCallDeadline() async throws {
        guard let url = Self.url else { return }
        try await Fixture.withTransport { transport in
            let pipeline = try Fixture.pipeline(
                Self.settings(
                    url, ["SELECT pg_sleep(10) WHERE :user_id > 0"],
                    ["call_timeout": .string("5s"), "statement_timeout": .string("300ms")]),
                transport: transport)
            let started = ContinuousClock.now
            let outcome = await pipeline.apply(Fixture.event(1))
            #expect(outcome == .transient(reason: "SQLSTATE 57014 in statements[0]", retryAfter: nil))
            #expect(ContinuousClock.now - started < .seconds(3))
        }
        #expect(
            Fixture.problems(
                Self.settings(
                    "postgres://u:p@127.0.0.1/x", Self.statements,
                    [
                        "call_timeout": .string("1s"), "statement_timeout": .string("2s"),
                    ])
            ).contains { $0.contains("statement_timeout") })
    }

    @Test func sqlStatesAreClassified() {
        #expect(SQLDestination.classify(sqlState: "40001", statement: 0).isTransient)
        #expect(SQLDestination.classify(sqlState: "08006", statement: 0).isTransient)
        #expect(SQLDestination.classify(sqlState: "53300", statement: 0).isTransient)
        #expect(SQLDestination.classify(sqlState: "57P01", statement: 0).isTransient)
        #expect(SQLDestination.classify(sqlState: "28P01", statement: nil).isConfigurationError)
        #expect(SQLDestination.classify(sqlState: "42501", statement: 0).isConfigurationError)
        #expect(SQLDestination.classify(sqlState: "23505", statement: 0).isPermanent)
        #expect(SQLDestination.classify(sqlState: "22P02", statement: 0).isPermanent)
    }
}
