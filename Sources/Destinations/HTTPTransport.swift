import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One shared AsyncHTTPClient for all HTTP destinations, with connect and read timeouts.
/// The client is created on first use, so validating a configuration opens nothing.
package final class HTTPTransport: Sendable {
    private let configuration: HTTPClient.Configuration
    private let state = Mutex<HTTPClient?>(nil)
    package let requestTimeout: Duration

    /// - Parameter maxConnectionsPerHost: HTTP/1.1 connections kept per host; requests beyond it queue.
    package init(connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(30), maxConnectionsPerHost: Int = 1024) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: .milliseconds(Int64(connectTimeout.seconds * 1000)),
            read: .milliseconds(Int64(requestTimeout.seconds * 1000)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        configuration.redirectConfiguration = .disallow
        self.configuration = configuration
        self.requestTimeout = requestTimeout
    }

    /// The underlying client (created on first use).
    package var client: HTTPClient {
        state.withLock { client in
            if let client { return client }
            let created = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            client = created
            return created
        }
    }

    deinit {
        // A transport dropped without shutdown() still releases its connections.
        if let client = state.withLock({ $0 }) { client.shutdown { _ in } }
    }

    /// A response read to the end (bodies of these APIs are small; capped at 1 MiB).
    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPHeaders
        package var body: [UInt8]

        package func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// Sends a request. Throws on connection errors and timeouts (callers classify them as transient).
    package func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]? = nil
    ) async throws
        -> Response
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = TimeAmount.milliseconds(Int64(requestTimeout.seconds * 1000))
        let response = try await client.execute(request, timeout: timeout)
        var buffer = try await response.body.collect(upTo: 1 << 20)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        return Response(status: Int(response.status.code), headers: response.headers, body: bytes)
    }

    package func shutdown() async {
        let client = state.withLock { client in
            defer { client = nil }
            return client
        }
        try? await client?.shutdown()
    }
}
