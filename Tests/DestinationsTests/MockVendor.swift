import ConfigFile
import Destinations
import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RetirementEvent
import Synchronization
import Testing

/// One request as the mock vendor saw it.
struct SeenRequest: Sendable {
    var method: String
    var path: String
    var query: String
    var headers: [String: String]
    var body: [UInt8]
    /// Wall-clock arrival (vendor reset signals are wall-clock).
    var at: Date

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
    /// A query parameter, percent-decoded.
    func parameter(_ name: String) -> String? {
        URLComponents(string: "http://x/?\(query)")?.queryItems?.first { $0.name == name }?.value
    }
}

/// What the mock answers.
struct Reply: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: String = ""
    /// Holds the answer back (to observe concurrency).
    var delay: Duration = .zero

    static func json(_ status: Int, _ object: Any, headers: [(String, String)] = []) -> Reply {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Reply(status: status, headers: [("Content-Type", "application/json")] + headers, body: String(decoding: data, as: UTF8.self))
    }
}

/// A local HTTP server following one vendor's documented contract: the test's handler answers
/// and records contract violations; the test asserts there are none.
final class MockVendor: Sendable {
    typealias Handler = @Sendable (SeenRequest, MockVendor) async -> Reply

    private let seen = Mutex<[SeenRequest]>([])
    private let problems = Mutex<[String]>([])
    private let inFlight = Mutex<(now: Int, max: Int)>((0, 0))
    private let state = Mutex<[String: Int]>([:])
    let handler: Handler

    init(_ handler: @escaping Handler) { self.handler = handler }

    var requests: [SeenRequest] { seen.withLock { $0 } }
    var violations: [String] { problems.withLock { $0 } }
    var maxInFlight: Int { inFlight.withLock { $0.max } }

    /// Records a contract violation (the test fails on any).
    func violation(_ text: String) { problems.withLock { $0.append(text) } }

    /// Checks a condition of the contract.
    func expect(_ condition: Bool, _ text: @autoclosure () -> String) { if !condition { violation(text()) } }

    /// A counter the handler can use (e.g. "fail the first call").
    func bump(_ key: String) -> Int {
        state.withLock {
            $0[key, default: 0] += 1; return $0[key]!
        }
    }

    func handle(_ request: Request) async -> Response {
        var buffer = (try? await request.body.collect(upTo: 8 << 20)) ?? ByteBuffer()
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let seenRequest = SeenRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: headers,
            body: buffer.readBytes(length: buffer.readableBytes) ?? [], at: Date())
        seen.withLock { $0.append(seenRequest) }
        inFlight.withLock {
            $0.now += 1; $0.max = max($0.max, $0.now)
        }
        let reply = await handler(seenRequest, self)
        if reply.delay > .zero { try? await Task.sleep(for: reply.delay) }
        inFlight.withLock { $0.now -= 1 }
        var fields = HTTPFields()
        for (name, value) in reply.headers { if let key = HTTPField.Name(name) { fields.append(HTTPField(name: key, value: value)) } }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    struct Responder: HTTPResponder {
        typealias Context = BasicRequestContext
        let vendor: MockVendor
        func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
            await vendor.handle(request)
        }
    }

    /// Runs `body` with the server listening on 127.0.0.1 (a free port); asserts no violations.
    static func run(
        _ handler: @escaping Handler, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: @Sendable (MockVendor, String) async throws -> Void
    ) async throws {
        let vendor = MockVendor(handler)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "mock-vendor")
        logger.logLevel = .critical  // cancellation at shutdown logs errors that mean nothing here
        let app = Application(
            responder: Responder(vendor: vendor),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            try await body(vendor, "http://127.0.0.1:\(port)")
            group.cancelAll()
        }
        #expect(vendor.violations == [], "vendor contract violations", sourceLocation: sourceLocation)
    }
}

/// Shared test helpers.
enum Fixture {
    static func event(_ userID: Int64, email: String? = nil, username: String? = nil) -> RetirementEvent {
        RetirementEvent(
            eventID: "evt-\(userID)", userID: userID, username: username ?? "learner\(userID)",
            email: email ?? "Learner\(userID)@Example.org", retiredUsername: "retired__user_\(userID)",
            retiredEmail: "retired__user_\(userID)@retired.invalid")
    }

    static func logger() -> Logger {
        var logger = Logger(label: "destinations-test")
        logger.logLevel = .warning
        return logger
    }

    /// Builds one destination through the registry from settings, as the service does.
    static func pipeline(_ settings: [String: ConfigValue], transport: HTTPTransport) throws -> DestinationPipeline {
        let problems = ConfigProblems()
        let reader = SettingsReader(path: "destinations[0]", values: settings, problems: problems)
        let pipelines = DestinationRegistry.build([reader], context: DestinationContext(transport: transport, logger: logger()))
        #expect(problems.messages == [])
        return try #require(pipelines.first)
    }

    /// The configuration problems a settings map produces.
    static func problems(_ settings: [String: ConfigValue]) -> [String] {
        let problems = ConfigProblems()
        let reader = SettingsReader(path: "d", values: settings, problems: problems)
        let transport = HTTPTransport()
        _ = DestinationRegistry.build([reader], context: DestinationContext(transport: transport, logger: logger()))
        Task { await transport.shutdown() }
        return problems.messages
    }

    /// Applies every event at once through the pipeline; outcomes in event order.
    static func applyAll(_ pipeline: DestinationPipeline, _ events: [RetirementEvent]) async -> [ErasureOutcome] {
        await withTaskGroup(of: (Int, ErasureOutcome).self) { group in
            for (index, event) in events.enumerated() { group.addTask { (index, await pipeline.apply(event)) } }
            var outcomes = [ErasureOutcome?](repeating: nil, count: events.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.map { $0! }
        }
    }

    /// Runs `body` with a fresh transport and shuts it down after.
    static func withTransport(_ body: (HTTPTransport) async throws -> Void) async throws {
        let transport = HTTPTransport(connectTimeout: .seconds(2), requestTimeout: .seconds(10))
        do {
            try await body(transport)
        } catch {
            await transport.shutdown()
            throw error
        }
        await transport.shutdown()
    }

    /// Largest number of request arrivals inside any window of `seconds`.
    static func maxPerWindow(_ requests: [SeenRequest], seconds: Double) -> Int {
        let times = requests.map(\.at.timeIntervalSince1970).sorted()
        var best = 0
        var start = 0
        for end in times.indices {
            while times[end] - times[start] >= seconds { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }
}

extension ErasureOutcome {
    var isConfigurationError: Bool { if case .configurationError = self { true } else { false } }
    var isTransient: Bool { if case .transient = self { true } else { false } }
    var isPermanent: Bool { if case .permanent = self { true } else { false } }
    var retryAfter: Duration? { if case .transient(_, let wait) = self { wait } else { nil } }
    var reason: String {
        switch self {
        case .transient(let reason, _), .permanent(let reason), .configurationError(let reason): reason
        default: ""
        }
    }
}
