import Foundation
import Hummingbird
import NIOCore
import OperatorTools
import Synchronization

/// A local HTTP server standing in for Braze, in the bench process: `/braze/users/delete` (up to
/// 50 ids per call) answering after `latency`. The webhook is a process of its own (`WebhookServer`).
final class LocalAPI: Sendable {
    final class Counters: Sendable {
        let brazeCalls = Atomic<Int>(0)
        let brazeIDs = Atomic<Int>(0)
        let brazeOversized = Atomic<Int>(0)
    }

    let port: Int
    let counters = Counters()
    private let task: Task<Void, any Error>

    init(latency: Duration) async throws {
        let counters = self.counters
        let router = Router()
        router.post("/braze/users/delete") { request, _ -> Response in
            var body = try await request.body.collect(upTo: 1 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            let ids = ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any])?["external_ids"] as? [Any] ?? []
            try? await Task.sleep(for: latency)
            counters.brazeCalls.add(1, ordering: .relaxed)
            counters.brazeIDs.add(ids.count, ordering: .relaxed)
            if ids.count > 50 { counters.brazeOversized.add(1, ordering: .relaxed) }
            return Response(
                status: .created, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"deleted\":\(ids.count),\"message\":\"success\"}")))
        }
        let port = try freePort()
        self.port = port
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), backlog: 4096),
            logger: quietLogger("local-api"))
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<100 where !canConnect(port) { try await Task.sleep(for: .milliseconds(50)) }
        guard canConnect(port) else { throw BenchError("local API did not start") }
    }

    var brazeBaseURL: String { "http://127.0.0.1:\(port)/braze" }

    func stop() { task.cancel() }
}

func freePort() throws -> Int {
    guard let port = LocalPort.free() else { throw BenchError("no free local port") }
    return port
}

func canConnect(_ port: Int) -> Bool {
    LocalPort.accepts(port)
}
