import Logging

/// What building a destination needs at run time: the shared HTTP client and the logger.
package struct DestinationContext: Sendable {
    package var transport: HTTPTransport
    package var logger: Logger

    package init(transport: HTTPTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }
}
