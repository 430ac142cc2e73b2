import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import OperatorTools
import ServiceRuntime
import Synchronization

/// A local webhook destination (docs/contract.md#webhook) for tests: checks the body, headers and signature
/// of every request, answers as the test decides, and records everything.
package final class WebhookServer: Sendable {
    /// What one request carried.
    package struct Request: Sendable {
        package var userID: Int
        package var eventID: String
        package var idempotencyKey: String?
        package var signatureValid: Bool
        package var status: Int
        /// Seconds since the epoch when the request arrived.
        package var time: Double
        /// The personal fields as received (tests check that encrypted events arrive decrypted).
        package var email: String = ""
        package var username: String = ""
    }

    /// How to answer: status, extra headers, delay before answering.
    package struct Answer: Sendable {
        package var status: Int
        package var headers: [(String, String)]
        package var delay: Duration

        package init(status: Int = 200, headers: [(String, String)] = [], delay: Duration = .zero) {
            self.status = status
            self.headers = headers
            self.delay = delay
        }
    }

    package let port: Int
    package let secret: String
    private let state = Mutex<[Request]>([])
    private let violations = Mutex<[String]>([])
    private let policy: Mutex<@Sendable (Int, Int) -> Answer>
    private let task: Task<Void, any Error>

    /// Starts a server on a free port. `answer(userID, attempt)` decides each response (attempt is 1-based per user).
    package init(
        secret: String = "test-secret-for-the-local-webhook-0123", answer: @escaping @Sendable (Int, Int) -> Answer = { _, _ in Answer() }
    ) async throws {
        self.secret = secret
        self.policy = Mutex(answer)
        let port = freePort()
        self.port = port
        let router = Router()
        let box = Unchecked<WebhookServer?>(nil)
        router.post("/erase") { request, context -> Response in
            var body = try await request.body.collect(upTo: 1 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            guard let server = box.value else { return Response(status: .internalServerError) }
            return await server.handle(bytes, headers: request.headers)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task { try await app.runService() }
        box.value = self
        let reachable = await LocalPort.waitUntilAccepting(port, timeout: .seconds(10))
        precondition(reachable, "webhook test server did not start")
    }

    package var url: String { "http://127.0.0.1:\(port)/erase" }

    package func setAnswer(_ answer: @escaping @Sendable (Int, Int) -> Answer) {
        policy.withLock { $0 = answer }
    }

    private func handle(_ bytes: [UInt8], headers: HTTPFields) async -> Response {
        // Verified as a receiver would: the Standard Webhooks signature over "id.timestamp.body",
        // with a timestamp within 5 minutes, and the deprecated X-Retirement-Signature.
        let key = SymmetricKey(data: secret.hasPrefix("whsec_") ? Data(base64Encoded: String(secret.dropFirst(6))) ?? Data() : Data(secret.utf8))
        let legacy = "sha256=" + HMAC<SHA256>.authenticationCode(for: bytes, using: key).map { String(format: "%02x", $0) }.joined()
        let id = headers[HTTPField.Name("webhook-id")!] ?? ""
        let timestamp = headers[HTTPField.Name("webhook-timestamp")!] ?? ""
        let standard = "v1," + Data(HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + bytes, using: key)).base64EncodedString()
        let fresh = Double(timestamp).map { abs($0 - Date().timeIntervalSince1970) < 300 } ?? false
        let signed =
            headers[HTTPField.Name("X-Retirement-Signature")!] == legacy && fresh
            && (headers[HTTPField.Name("webhook-signature")!] ?? "").split(separator: " ").contains { $0 == standard }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let userID = object["user_id"] as? Int, let eventID = object["event_id"] as? String,
            let username = object["username"] as? String, let email = object["email"] as? String
        else {
            violations.withLock { $0.append("malformed body") }
            return Response(status: .badRequest)
        }
        if headers[.contentType] != "application/json" { violations.withLock { $0.append("content-type \(headers[.contentType] ?? "-")") } }
        let idempotencyKey = headers[HTTPField.Name("Idempotency-Key")!]
        if idempotencyKey != eventID { violations.withLock { $0.append("Idempotency-Key \(idempotencyKey ?? "-") != event_id") } }
        if id != eventID { violations.withLock { $0.append("webhook-id \(id) != event_id") } }
        let arrived = Date().timeIntervalSince1970
        let attempt = state.withLock { requests in requests.filter { $0.userID == userID }.count + 1 }
        let answer = policy.withLock { $0 }(userID, attempt)
        if answer.delay > .zero { try? await Task.sleep(for: answer.delay) }
        state.withLock {
            $0.append(
                Request(
                    userID: userID, eventID: eventID, idempotencyKey: idempotencyKey, signatureValid: signed, status: answer.status,
                    time: arrived,
                    email: email, username: username))
        }
        var fields = HTTPFields()
        for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: answer.status), headers: fields)
    }

    package var requests: [Request] { state.withLock { $0 } }

    /// User ids answered with 2xx or 404/410 at least once.
    package var erasedUserIDs: Set<Int> {
        Set(requests.filter { (200..<300).contains($0.status) || $0.status == 404 || $0.status == 410 }.map(\.userID))
    }

    /// Successful requests beyond the first per user.
    package var duplicateErasures: Int {
        let ok = requests.filter { (200..<300).contains($0.status) }
        return ok.count - Set(ok.map(\.userID)).count
    }

    package var protocolViolations: [String] {
        violations.withLock { $0 } + requests.filter { !$0.signatureValid }.map { "bad signature for event \($0.eventID)" }
    }

    package func stop() {
        task.cancel()
    }
}
