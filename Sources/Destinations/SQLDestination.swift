import Engine
import Foundation
import Logging
import PostgresNIO
import RetirementEvent
import Synchronization

/// `type: sql`: runs the configured `statements` against PostgreSQL in one transaction per event,
/// with named parameters bound from the event (`:user_id`, `:email`, `:username`,
/// `:retired_username`, `:retired_email`, `:event_id`), translated to `$1…` binds — values are
/// never interpolated into the SQL text.
///
/// Zero rows affected by all statements → already gone. A connection is opened per event and
/// closed after it (retirements are rare; no idle pool to keep healthy).
///
/// Errors by SQLSTATE class: 08 (connection), 40 (serialization, deadlock), 53 (resources),
/// 57P (shutdown), 55P03 (lock), 57014 (cancel/timeout), 58, XX → transient; 28 (authentication),
/// 3D000 (no such database), 42501 (privilege) and the rest of class 42 (syntax, unknown
/// table or column: the configured statements are wrong for every event) → configuration error;
/// 22 (data), 23 (constraint) and anything else → permanent. Reasons carry the SQLSTATE and the
/// statement's index, never the server message (it may quote values).
///
/// Every transaction sets `statement_timeout` and `lock_timeout` (`SET LOCAL`), so a statement
/// blocked on a row lock or running long is ended by the server (SQLSTATE 55P03 / 57014,
/// transient) before the call's deadline, and the connection and its slot are freed.
package final class SQLDestination: SingleEventDestination {
    /// The parameters an event provides.
    package static let parameterNames = ["user_id", "email", "username", "retired_username", "retired_email", "event_id"]

    /// A statement with `$n` placeholders and the parameter name of each `$n`.
    package struct Statement: Sendable, Equatable {
        package var sql: String
        package var parameters: [String]
    }

    package let name: String
    package let statements: [Statement]
    let configuration: PostgresConnection.Configuration
    /// `SET LOCAL statement_timeout` of every transaction.
    let statementTimeout: Duration
    /// `SET LOCAL lock_timeout` of every transaction.
    let lockTimeout: Duration
    /// PostgresNIO's logger: never below `info`, whatever `logging.level` says. At `debug` and
    /// `trace` the driver logs server notices and every wire message, bind values (the
    /// learner's email and username) included.
    let logger: Logger
    private let connectionIDs = ConnectionIDs()

    init(
        name: String, statements: [Statement], configuration: PostgresConnection.Configuration,
        statementTimeout: Duration = .seconds(25), lockTimeout: Duration = .seconds(10), logger: Logger
    ) {
        self.name = name
        self.statements = statements
        self.configuration = configuration
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .info)
        self.logger = driverLogger
    }

    /// `SET LOCAL` statements for the timeouts, in whole milliseconds (numbers we format, no input).
    var timeoutStatements: [String] {
        [
            "SET LOCAL statement_timeout = \(max(1, Int64(statementTimeout.seconds * 1000)))",
            "SET LOCAL lock_timeout = \(max(1, Int64(lockTimeout.seconds * 1000)))",
        ]
    }

    /// Replaces `:name` placeholders outside string literals, quoted identifiers and comments by
    /// `$n` (the same name reuses its number); `::` casts are left alone. Throws the unknown name.
    package static func translate(_ text: String) throws(UnknownParameter) -> Statement {
        let chars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var names: [String] = []
        var i = 0
        func isName(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && (CharacterSet.alphanumerics.contains(c))) }
        while i < chars.count {
            let c = chars[i]
            if c == "'" || c == "\"" {
                // Literal or quoted identifier; a doubled quote stays inside.
                out.append(c)
                i += 1
                while i < chars.count {
                    out.append(chars[i])
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { out.append(chars[i + 1]); i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { out.append(chars[i]); i += 1 }
                continue
            }
            if c == "/", i + 1 < chars.count, chars[i + 1] == "*" {
                while i < chars.count, !(chars[i] == "*" && i + 1 < chars.count && chars[i + 1] == "/") { out.append(chars[i]); i += 1 }
                if i < chars.count { out.append(chars[i]); out.append(chars[i + 1]); i += 2 }
                continue
            }
            if c == ":" {
                if i + 1 < chars.count, chars[i + 1] == ":" {
                    out.append(c); out.append(c); i += 2
                    continue
                }
                var j = i + 1
                while j < chars.count, isName(chars[j]) { j += 1 }
                if j > i + 1, !(chars[i + 1].properties.numericType != nil) {
                    let name = String(String.UnicodeScalarView(chars[(i + 1)..<j]))
                    guard parameterNames.contains(name) else { throw UnknownParameter(name: name) }
                    let index =
                        (names.firstIndex(of: name)
                            ?? {
                                names.append(name); return names.count - 1
                            }()) + 1
                    out.append(contentsOf: "$\(index)".unicodeScalars)
                    i = j
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return Statement(sql: String(out), parameters: names)
    }

    package struct UnknownParameter: Error, Equatable {
        package var name: String
    }

    /// The binds of a statement for one event (absent optional fields bind NULL).
    static func bindings(_ statement: Statement, _ event: RetirementEvent) -> PostgresBindings {
        var binds = PostgresBindings(capacity: statement.parameters.count)
        for parameter in statement.parameters {
            switch parameter {
            case "user_id": binds.append(event.userID)
            case "email": binds.append(event.email)
            case "username": binds.append(event.username)
            case "retired_username": binds.append(event.retiredUsername)
            case "retired_email": binds.append(event.retiredEmail)
            case "event_id": binds.append(event.eventID)
            default: binds.appendNull()
            }
        }
        return binds
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: connectionIDs.next(), logger: logger)
        } catch {
            return SQLDestination.classify(error, statement: nil)
        }
        let outcome = await run(event, on: connection)
        try? await connection.close()
        return outcome
    }

    private func run(_ event: RetirementEvent, on connection: PostgresConnection) async -> ErasureOutcome {
        let statements = self.statements
        let timeouts = self.timeoutStatements
        let logger = self.logger
        var failedAt: Int?
        do {
            let affected = try await connection.withTransaction(logger: logger) { connection -> Int in
                for text in timeouts {
                    let future: EventLoopFuture<PostgresQueryResult> = connection.query(PostgresQuery(unsafeSQL: text), logger: logger)
                    _ = try await future.get()
                }
                var total = 0
                for (index, statement) in statements.enumerated() {
                    failedAt = index
                    let query = PostgresQuery(unsafeSQL: statement.sql, binds: SQLDestination.bindings(statement, event))
                    let future: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger)
                    total += try await future.get().metadata.rows ?? 0
                }
                failedAt = nil
                return total
            }
            return affected == 0 ? .alreadyGone : .erased(jobID: nil)
        } catch {
            return SQLDestination.classify(error, statement: failedAt)
        }
    }

    /// Classifies a PostgresNIO error by SQLSTATE (see the type's documentation).
    static func classify(_ error: any Error, statement: Int?) -> ErasureOutcome {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return classify(inner, statement: statement)
            }
            return .transient(reason: "transaction failed", retryAfter: nil)
        }
        guard let psql = error as? PSQLError else {
            return .transient(reason: "connection failed: \(String(describing: type(of: error)))", retryAfter: nil)
        }
        guard psql.code == .server, let state = psql.serverInfo?[.sqlState] else {
            switch psql.code {
            case .sslUnsupported:
                return .configurationError(reason: "the server does not support TLS (tls: require)")
            case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
                return .configurationError(reason: "authentication failed (\(psql.code))")
            default:
                return .transient(reason: "connection failed (\(psql.code))", retryAfter: nil)
            }
        }
        return classify(sqlState: state, statement: statement)
    }

    /// Classifies a server error by its SQLSTATE.
    static func classify(sqlState state: String, statement: Int?) -> ErasureOutcome {
        let reason = "SQLSTATE \(state)\(statement.map { " in statements[\($0)]" } ?? "")"
        let classCode = String(state.prefix(2))
        switch classCode {
        case "08", "40", "53", "58", "XX":
            return .transient(reason: reason, retryAfter: nil)
        case "57" where state.hasPrefix("57P") || state == "57014":
            return .transient(reason: reason, retryAfter: nil)
        case "55" where state == "55P03":
            return .transient(reason: reason, retryAfter: nil)
        case "28", "3D", "42":
            return .configurationError(reason: reason)
        default:
            return .permanent(reason: reason)
        }
    }

    /// Connects, runs `SELECT 1`, then parses each statement on the server (PREPARE … then
    /// DEALLOCATE, inside a rolled-back transaction): syntax, tables and columns are checked,
    /// nothing is executed.
    package func check() async -> [String] {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: connectionIDs.next(), logger: logger)
        } catch {
            return ["destination \(name): cannot connect: \(SQLDestination.classify(error, statement: nil).reasonText)"]
        }
        let problems = await check(on: connection)
        try? await connection.close()
        return problems
    }

    private func check(on connection: PostgresConnection) async -> [String] {
        var problems: [String] = []
        do {
            let future: EventLoopFuture<PostgresQueryResult> = connection.query("SELECT 1", logger: logger)
            _ = try await future.get()
        } catch {
            return ["destination \(name): SELECT 1 failed: \(SQLDestination.classify(error, statement: nil).reasonText)"]
        }
        for (index, statement) in statements.enumerated() {
            let types = statement.parameters.map { $0 == "user_id" ? "bigint" : "text" }
            let prepare = "PREPARE retirement_check_\(index)\(types.isEmpty ? "" : "(\(types.joined(separator: ", ")))") AS \(statement.sql)"
            do {
                let begin: EventLoopFuture<PostgresQueryResult> = connection.query("BEGIN", logger: logger)
                _ = try await begin.get()
                let future: EventLoopFuture<PostgresQueryResult> = connection.query(PostgresQuery(unsafeSQL: prepare), logger: logger)
                _ = try await future.get()
            } catch {
                problems.append("destination \(name): statements[\(index)]: \(SQLDestination.classify(error, statement: nil).reasonText)")
            }
            let rollback: EventLoopFuture<PostgresQueryResult> = connection.query("ROLLBACK", logger: logger)
            _ = try? await rollback.get()
            let deallocate: EventLoopFuture<PostgresQueryResult> = connection.query(
                PostgresQuery(unsafeSQL: "DEALLOCATE ALL"), logger: logger)
            _ = try? await deallocate.get()
        }
        return problems
    }

    /// `type: sql`: `statements` (required list); `url` (`postgres://user:pass@host:port/db`, with
    /// `sslmode` and `sslrootcert` as its only parameters) or `host`, `port` (5432), `username`,
    /// `password`, `database`; `tls: require|disable` (default require: TLS with the server's
    /// certificate and host name verified), `ca_file` (PEM roots instead of the system's).
    /// Defaults: 4 transactions at once, no rate limit.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        var host = "127.0.0.1"
        var port = 5432
        var username = ""
        var password: String?
        var database: String?
        var urlTLS: TLSMode?
        var urlRootCert: String?
        if let url = reader.string("url") {
            if let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") {
                host = components.host ?? host
                port = components.port ?? port
                username = components.user?.removingPercentEncoding ?? ""
                password = components.password?.removingPercentEncoding
                let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
                database = path.isEmpty ? nil : path
                for item in components.queryItems ?? [] {
                    switch item.name {
                    case "sslmode":
                        switch TLSMode.fromSSLMode(item.value ?? "") {
                        case .success(let mode): urlTLS = mode
                        case .failure(let why): reader.problems.add(reader.keyPath("url"), why.description)
                        }
                    case "sslrootcert":
                        urlRootCert = item.value
                    default:
                        // Named, never its value: a parameter may hold a secret.
                        reader.problems.add(reader.keyPath("url"), "unknown parameter '\(item.name)' (only sslmode and sslrootcert are read)")
                    }
                }
            } else {
                reader.problems.add(reader.keyPath("url"), "must be a postgres://user:password@host:port/database URL")
            }
        }
        host = reader.string("host", or: host)
        port = reader.int("port", default: port, range: 1...65535)
        username = reader.string("username", default: username.isEmpty ? nil : username, required: true) ?? ""
        password = reader.string("password", default: password)
        database = reader.string("database", default: database)
        let tlsMode = TLSMode.read(reader, fromURL: urlTLS)
        let caFile = reader.string("ca_file", default: urlRootCert)
        var tls = PostgresConnection.Configuration.TLS.disable
        if tlsMode == .require {
            do {
                var client = TLSConfiguration.makeClientConfiguration()
                client.certificateVerification = .fullVerification
                if let caFile { client.trustRoots = .file(caFile) }
                tls = .require(try NIOSSLContext(configuration: client))
            } catch {
                reader.problems.add(reader.keyPath(caFile == nil ? "tls" : "ca_file"), "cannot set up TLS: \(error)")
            }
        } else if caFile != nil {
            reader.problems.add(reader.keyPath("ca_file"), "is set but tls is disable")
        }
        var statements: [Statement] = []
        for (index, text) in reader.stringList("statements", required: true).enumerated() {
            do {
                statements.append(try translate(text))
            } catch {
                reader.problems.add(
                    "\(reader.keyPath("statements"))[\(index)]",
                    "unknown parameter :\((error as? UnknownParameter)?.name ?? "?"); known: \(parameterNames.map { ":\($0)" }.joined(separator: ", "))")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        let callTimeout = reader.duration("call_timeout", default: defaults.callTimeout, minimum: .milliseconds(10))
        configuration.options.connectTimeout = .milliseconds(Int64(min(callTimeout, .seconds(10)).seconds * 1000))
        // The server ends a statement before the call's deadline, so the answer is its own
        // SQLSTATE (transient) rather than a timeout with the statement still running.
        let statementTimeout = reader.duration(
            "statement_timeout", default: callTimeout * 0.8, minimum: .milliseconds(1))
        let lockTimeout = reader.duration("lock_timeout", default: min(callTimeout * 0.5, .seconds(10)), minimum: .milliseconds(1))
        if statementTimeout >= callTimeout {
            reader.problems.add(reader.keyPath("statement_timeout"), "must be shorter than call_timeout (\(callTimeout))")
        }
        let (statementList, connection) = (statements, configuration)
        return (
            { context in
                SQLDestination(
                    name: name, statements: statementList, configuration: connection, statementTimeout: statementTimeout,
                    lockTimeout: lockTimeout, logger: context.logger)
            }, DestinationLimits(concurrency: 4)
        )
    }

    /// Connection ids for PostgresNIO's logs.
    final class ConnectionIDs: Sendable {
        private let value = Mutex(0)
        func next() -> Int {
            value.withLock {
                $0 += 1; return $0
            }
        }
    }
}

extension ErasureOutcome {
    /// The reason of a failure outcome (empty for successes).
    var reasonText: String {
        switch self {
        case .transient(let reason, _), .permanent(let reason), .configurationError(let reason): reason
        default: ""
        }
    }
}
