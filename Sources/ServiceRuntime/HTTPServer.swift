import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// `GET /healthz`, `/readyz` and `/metrics` (Prometheus text format).
package enum HTTPServer {
    package static func make(
        host: String, port: Int, health: HealthState, registry: PrometheusCollectorRegistry?, logger: Logger
    ) -> some Service {
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            health.isAlive
                ? text(.ok, "ok\n")
                : text(.serviceUnavailable, "poll loop stalled for more than \(health.pollStallLimit)\n")
        }
        router.get("/readyz") { _, _ -> Response in
            let reasons = health.notReadyReasons
            return reasons.isEmpty ? text(.ok, "ready\n") : text(.serviceUnavailable, reasons.joined(separator: "\n") + "\n")
        }
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            registry?.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "retirement-consumer"),
            onServerRunning: { channel in
                logger.info("http server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: serverLogger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
