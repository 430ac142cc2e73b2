import Engine
import Foundation
import RetirementEvent

/// `type: salesforce`: finds the learner's Leads and Contacts by email with SOQL
/// (`GET {instance}/services/data/{api_version}/query?q=…`) and deletes each record
/// (`DELETE …/sobjects/{Object}/{Id}`), optionally emptying them from the Recycle Bin
/// (`hard_delete: true`, SOAP `emptyRecycleBin`). With `mode: task` it deletes nothing and, as
/// Open edX's driver does, creates one `Task` asking a person to retire the Lead(s).
///
/// OAuth 2.0 token by the client-credentials flow (default) or the username-password flow; the
/// token is fetched on first use and fetched again once on 401 (`INVALID_SESSION_ID`).
/// 404 `NOT_FOUND` / `ENTITY_IS_DELETED` on delete count as already gone.
package final class SalesforceDestination: SingleEventDestination {
    package enum Mode: String, Sendable, CaseIterable { case delete, task }
    package enum Flow: String, Sendable, CaseIterable { case clientCredentials = "client_credentials", password }

    package struct Settings: Sendable {
        package var loginURL: String
        package var baseURL: String?
        package var flow: Flow
        package var clientID: String
        package var clientSecret: String
        package var username: String?
        package var password: String?
        package var securityToken: String?
        package var apiVersion: String
        package var objects: [String]
        package var mode: Mode
        package var hardDelete: Bool
        package var taskOwnerID: String?
    }

    package let name: String
    package let settings: Settings
    let transport: HTTPTransport
    private let session = SalesforceSession()

    package init(name: String, settings: Settings, transport: HTTPTransport) {
        self.name = name
        self.settings = settings
        self.transport = transport
    }

    package func erase(_ event: RetirementEvent) async -> ErasureOutcome {
        // The email is the only learner value in a query: refused before any query is built.
        guard EmailAddress.isUsable(event.email) else {
            return .permanent(reason: "the event's email is not a usable address; no query built")
        }
        switch settings.mode {
        case .delete: return await deleteRecords(event)
        case .task: return await createTask(event)
        }
    }

    private func deleteRecords(_ event: RetirementEvent) async -> ErasureOutcome {
        var found = false
        var toPurge: [String] = []
        for object in settings.objects {
            let filter = "Email = '\(SalesforceDestination.soqlEscape(event.email))'"
            let records: [[String: Any]]
            switch await query("SELECT Id, IsDeleted FROM \(object) WHERE \(filter)", all: settings.hardDelete) {
            case .failure(let failure): return failure.outcome
            case .success(let rows): records = rows
            }
            for record in records {
                guard let id = record["Id"] as? String else { continue }
                found = true
                if record["IsDeleted"] as? Bool == true {
                    toPurge.append(id)  // already in the Recycle Bin (an earlier attempt)
                    continue
                }
                switch await call(.delete, "/sobjects/\(VendorHTTP.encode(object))/\(VendorHTTP.encode(id))") {
                case .failure(let failure):
                    return failure.outcome
                case .success(let response):
                    if response.status == 404 { continue }  // NOT_FOUND / ENTITY_IS_DELETED: gone
                    guard (200..<300).contains(response.status) else { return SalesforceDestination.classify(response) }
                    toPurge.append(id)
                }
            }
        }
        if settings.hardDelete, !toPurge.isEmpty {
            if let failure = await emptyRecycleBin(toPurge) { return failure }
        }
        return found ? .erased(jobID: nil) : .alreadyGone
    }

    /// One Task per retirement, found again by its subject (which names the event id, not the
    /// learner), so a repeated event does not create a second one.
    private func createTask(_ event: RetirementEvent) async -> ErasureOutcome {
        let subject = "GDPR Request: retire learner (event \(event.eventID))"
        switch await query("SELECT Id FROM Task WHERE Subject = '\(SalesforceDestination.soqlEscape(subject))'", all: false) {
        case .failure(let failure): return failure.outcome
        case .success(let rows):
            if let id = rows.first?["Id"] as? String { return .erased(jobID: id) }
        }
        var ids: [String] = []
        for object in settings.objects {
            switch await query("SELECT Id FROM \(object) WHERE Email = '\(SalesforceDestination.soqlEscape(event.email))'", all: false) {
            case .failure(let failure): return failure.outcome
            case .success(let rows): ids += rows.compactMap { $0["Id"] as? String }
            }
        }
        guard let first = ids.first else { return .alreadyGone }
        var task: [(String, CompactJSON.Value)] = [
            ("Subject", .string(subject)),
            (
                "Description",
                .string(
                    "A learner (LMS user id \(event.userID)) asked to be forgotten. "
                        + "Please manually retire the user data for these records: \(ids.joined(separator: ", "))."
                )
            ),
            ("WhoId", .string(first)),
        ]
        if let owner = settings.taskOwnerID { task.append(("OwnerId", .string(owner))) }
        switch await call(.post, "/sobjects/Task", body: VendorHTTP.json(task)) {
        case .failure(let failure): return failure.outcome
        case .success(let response):
            guard (200..<300).contains(response.status) else { return SalesforceDestination.classify(response) }
            return .erased(jobID: (VendorHTTP.parse(response.body) as? [String: Any])?["id"] as? String)
        }
    }

    /// SOQL string-literal escaping: backslash, quotes and control characters, per Unicode
    /// scalar. (Per `Character`, a quote followed by a combining mark, or `\r\n`, is one
    /// grapheme cluster that matches no case and would pass through unescaped.)
    package static func soqlEscape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "'": out.append(contentsOf: "\\'".unicodeScalars)
            case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\u{8}": out.append(contentsOf: "\\b".unicodeScalars)
            case "\u{c}": out.append(contentsOf: "\\f".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// Runs a SOQL query (`queryAll` includes Recycle Bin records) and follows `nextRecordsUrl`.
    func query(_ soql: String, all: Bool) async -> Result<[[String: Any]], TransportFailure> {
        var path: String? = "/\(all ? "queryAll" : "query")?q=\(VendorHTTP.encode(soql))"
        var records: [[String: Any]] = []
        while let next = path {
            switch await call(.get, next) {
            case .failure(let failure): return .failure(failure)
            case .success(let response):
                guard (200..<300).contains(response.status) else {
                    var outcome = SalesforceDestination.classify(response)
                    // A query that is not found means a wrong api_version or base_url.
                    if response.status == 404 { outcome = .configurationError(reason: VendorHTTP.describe(response) + ": query resource not found") }
                    return .failure(TransportFailure(outcome: outcome))
                }
                let object = VendorHTTP.parse(response.body) as? [String: Any] ?? [:]
                records += object["records"] as? [[String: Any]] ?? []
                if let nextURL = object["nextRecordsUrl"] as? String, let range = nextURL.range(of: "/\(settings.apiVersion)") {
                    path = String(nextURL[range.upperBound...])
                } else {
                    path = nil
                }
            }
        }
        return .success(records)
    }

    /// SOAP `emptyRecycleBin` (up to 200 ids); `nil` when every id was purged or is gone.
    private func emptyRecycleBin(_ ids: [String]) async -> ErasureOutcome? {
        let version = settings.apiVersion.hasPrefix("v") ? String(settings.apiVersion.dropFirst()) : settings.apiVersion
        for chunk in stride(from: 0, to: ids.count, by: 200).map({ Array(ids[$0..<min($0 + 200, ids.count)]) }) {
            let result = await withToken(retryOn401: true) { token, instance in
                let body = """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">\
                    <soapenv:Header><urn:SessionHeader><urn:sessionId>\(token)</urn:sessionId></urn:SessionHeader></soapenv:Header>\
                    <soapenv:Body><urn:emptyRecycleBin>\(chunk.map { "<urn:ids>\($0)</urn:ids>" }.joined())</urn:emptyRecycleBin></soapenv:Body>\
                    </soapenv:Envelope>
                    """
                return await VendorHTTP.send(
                    self.transport, .post, "\(instance)/services/Soap/u/\(version)",
                    headers: [("Content-Type", "text/xml; charset=UTF-8"), ("SOAPAction", "emptyRecycleBin")], body: Array(body.utf8))
            }
            switch result {
            case .failure(let failure): return failure.outcome
            case .success(let response):
                let text = String(decoding: response.body, as: UTF8.self)
                if response.status == 500, text.contains("INVALID_SESSION_ID") {
                    return .configurationError(reason: "emptyRecycleBin: session refused")
                }
                guard (200..<300).contains(response.status) else {
                    return response.status >= 500
                        ? .transient(reason: "emptyRecycleBin HTTP \(response.status)", retryAfter: nil)
                        : .permanent(reason: "emptyRecycleBin HTTP \(response.status)")
                }
                // A failed id names its status code; ENTITY_IS_DELETED means it is purged already.
                let failures = text.components(separatedBy: "<success>false</success>").count - 1
                let purged = text.components(separatedBy: "ENTITY_IS_DELETED").count - 1
                if failures > purged { return .permanent(reason: "emptyRecycleBin: \(failures - purged) record(s) not purged") }
            }
        }
        return nil
    }

    // MARK: calls with a token

    /// A REST call under `/services/data/{api_version}`, with the token; on 401 the token is
    /// fetched again and the call repeated once.
    func call(_ method: HTTPMethodName, _ path: String, body: [UInt8]? = nil) async -> Result<HTTPTransport.Response, TransportFailure> {
        let result = await withToken(retryOn401: true) { token, instance in
            var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
            if body != nil { headers.append(("Content-Type", "application/json")) }
            return await VendorHTTP.send(
                self.transport, method, "\(instance)/services/data/\(self.settings.apiVersion)\(path)", headers: headers, body: body)
        }
        if case .success(let response) = result, response.status == 401 {
            return .failure(TransportFailure(outcome: .configurationError(reason: "\(VendorHTTP.describe(response)): token refused after a fresh login")))
        }
        return result
    }

    private func withToken(
        retryOn401: Bool, _ body: @Sendable (String, String) async -> Result<HTTPTransport.Response, TransportFailure>
    ) async -> Result<HTTPTransport.Response, TransportFailure> {
        var token: SalesforceSession.Token
        switch await currentToken(refresh: false) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): token = value
        }
        let first = await body(token.accessToken, token.instanceURL)
        guard retryOn401, case .success(let response) = first, response.status == 401 || Self.invalidSession(response) else { return first }
        switch await currentToken(refresh: true, stale: token.accessToken) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): token = value
        }
        return await body(token.accessToken, token.instanceURL)
    }

    private static func invalidSession(_ response: HTTPTransport.Response) -> Bool {
        response.status == 500 && String(decoding: response.body, as: UTF8.self).contains("INVALID_SESSION_ID")
    }

    private func currentToken(refresh: Bool, stale: String? = nil) async -> Result<SalesforceSession.Token, TransportFailure> {
        if let token = await session.token(unless: refresh ? stale : nil) { return .success(token) }
        let result = await fetchToken()
        if case .success(let token) = result { await session.store(token) }
        return result
    }

    /// `POST {login_url}/services/oauth2/token` (form-encoded).
    func fetchToken() async -> Result<SalesforceSession.Token, TransportFailure> {
        var form: [(String, String)] = [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        switch settings.flow {
        case .clientCredentials:
            form.insert(("grant_type", "client_credentials"), at: 0)
        case .password:
            form.insert(("grant_type", "password"), at: 0)
            form.append(("username", settings.username ?? ""))
            form.append(("password", (settings.password ?? "") + (settings.securityToken ?? "")))
        }
        let response: HTTPTransport.Response
        switch await VendorHTTP.send(
            transport, .post, "\(settings.loginURL)/services/oauth2/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")], body: VendorHTTP.form(form))
        {
        case .failure(let failure): return .failure(failure)
        case .success(let value): response = value
        }
        let object = VendorHTTP.parse(response.body) as? [String: Any] ?? [:]
        guard (200..<300).contains(response.status), let accessToken = object["access_token"] as? String else {
            let code = VendorHTTP.errorCode(response.body).map { " (\($0))" } ?? ""
            if response.status == 429 || response.status >= 500 {
                return .failure(
                    TransportFailure(outcome: .transient(reason: "token HTTP \(response.status)\(code)", retryAfter: VendorHTTP.waitSignal(response))))
            }
            return .failure(TransportFailure(outcome: .configurationError(reason: "token request refused: HTTP \(response.status)\(code)")))
        }
        var instance = settings.baseURL ?? (object["instance_url"] as? String) ?? settings.loginURL
        while instance.hasSuffix("/") { instance.removeLast() }
        return .success(.init(accessToken: accessToken, instanceURL: instance))
    }

    /// 2xx erased; 404 already gone; 401 and 403 (other than `REQUEST_LIMIT_EXCEEDED`)
    /// configuration error; 403 `REQUEST_LIMIT_EXCEEDED` transient (5 min); 400 `INVALID_TYPE` /
    /// `INVALID_FIELD` (a configured object without `Email`) configuration error; 5xx transient;
    /// other 4xx permanent.
    static func classify(_ response: HTTPTransport.Response) -> ErasureOutcome {
        let code = VendorHTTP.errorCode(response.body)
        switch response.status {
        case 200..<300:
            return .erased(jobID: nil)
        case 404:
            return .alreadyGone
        case 403 where code == "REQUEST_LIMIT_EXCEEDED":
            return .transient(reason: VendorHTTP.describe(response), retryAfter: VendorHTTP.waitSignal(response) ?? .seconds(300))
        case 401, 403:
            return .configurationError(reason: VendorHTTP.describe(response))
        case 400 where code == "INVALID_TYPE" || code == "INVALID_FIELD":
            return .configurationError(reason: VendorHTTP.describe(response) + ": check objects")
        case 408, 429, 500..<600:
            return .transient(reason: VendorHTTP.describe(response), retryAfter: VendorHTTP.waitSignal(response))
        default:
            return .permanent(reason: VendorHTTP.describe(response))
        }
    }

    /// Logs in, then reads `GET …/limits` (read-only): proves the credentials and the API version.
    package func check() async -> [String] {
        switch await call(.get, "/limits") {
        case .failure(let failure):
            switch failure.outcome {
            case .configurationError(let reason), .permanent(let reason), .transient(let reason, _):
                return ["destination \(name): \(reason)"]
            default:
                return ["destination \(name): login failed"]
            }
        case .success(let response):
            if (200..<300).contains(response.status) { return [] }
            return ["destination \(name): limits answered \(VendorHTTP.describe(response))"]
        }
    }

    /// `type: salesforce`: `client_id`, `client_secret` (required); `auth: client_credentials|password`
    /// (password also needs `username`, `password`, optional `security_token`); `login_url`
    /// (token host; default `base_url`, or `https://login.salesforce.com` for the password flow);
    /// `base_url` (instance; default the token's `instance_url`); `api_version` (default v62.0);
    /// `objects` (default [Lead, Contact]); `mode: delete|task`; `hard_delete`; `task_owner_id`.
    /// Salesforce limits are a 24-hour allocation and 25 long-running calls at once: defaults are
    /// 10 calls at once and no per-second limit.
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let flow = reader.choice("auth", default: Flow.clientCredentials)
        let clientID = reader.string("client_id", required: true) ?? ""
        let clientSecret = reader.string("client_secret", required: true) ?? ""
        let username = reader.string("username", required: flow == .password)
        let password = reader.string("password", required: flow == .password)
        let securityToken = reader.string("security_token")
        let baseURL = VendorHTTP.baseURL(reader, default: nil, required: flow == .clientCredentials && !reader.has("login_url"))
        var loginURL = reader.string("login_url", or: baseURL.isEmpty ? "https://login.salesforce.com" : baseURL)
        while loginURL.hasSuffix("/") { loginURL.removeLast() }
        let apiVersion = reader.string("api_version", or: "v62.0")
        if apiVersion.range(of: #"^v\d+\.\d$"#, options: .regularExpression) == nil {
            reader.problems.add(reader.keyPath("api_version"), "must look like v62.0")
        }
        let objects = reader.stringList("objects", default: ["Lead", "Contact"])
        for object in objects where object.range(of: #"^[A-Za-z][A-Za-z0-9_]*$"#, options: .regularExpression) == nil {
            reader.problems.add(reader.keyPath("objects"), "'\(object)' is not an sObject name")
        }
        let mode = reader.choice("mode", default: Mode.delete)
        let hardDelete = reader.bool("hard_delete", default: false)
        let taskOwnerID = reader.string("task_owner_id")
        let settings = Settings(
            loginURL: loginURL, baseURL: baseURL.isEmpty ? nil : baseURL, flow: flow, clientID: clientID, clientSecret: clientSecret,
            username: username, password: password, securityToken: securityToken, apiVersion: apiVersion, objects: objects, mode: mode,
            hardDelete: hardDelete, taskOwnerID: taskOwnerID)
        return ({ context in SalesforceDestination(name: name, settings: settings, transport: context.transport) }, DestinationLimits(concurrency: 10))
    }
}
