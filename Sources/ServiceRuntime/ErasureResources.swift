import Destinations
import Engine
import Kafka
import Logging

/// What `run`, `replay` and `dlq redrive` open to apply erasures, built by one factory
/// (``open(configuration:only:apply:health:transport:logger:)``) and closed in one order: the
/// destinations, then the receipts still queued, then the producer (its last deliveries), then
/// the HTTP client.
package struct ErasureResources: Sendable {
    /// Every configured destination (each is closed at the end).
    package let destinations: [DestinationPipeline]
    /// The destinations named with `--destination` (all of them when none is named).
    package let selected: [DestinationPipeline]
    /// The dead-letter and receipts producer (`nil` for a dry run).
    package let producer: KafkaProducer?
    package let receipts: ErasureReceiptWriter?
    /// Applies events to `selected` with the configured retries, dead-letter topic and receipts
    /// (`nil` for a dry run).
    package let processor: EventProcessor?
    package let transport: HTTPTransport

    /// The one factory of `run`, `replay` and `dlq redrive`: builds every configured destination,
    /// checks the names in `only` against them and, with `apply`, opens the producer, the
    /// receipts and the processor of the selected destinations (a dry run opens none of them).
    ///
    /// Throws ``ServiceError`` (code `.usage`) when `only` names a destination that is not
    /// configured, ``KafkaError`` for bad producer properties.
    package static func open(
        configuration: ServiceConfiguration, only names: [String] = [], apply: Bool = true,
        health: DestinationHealth = DestinationHealth(), transport: HTTPTransport = HTTPTransport(), logger: Logger
    ) throws -> ErasureResources {
        let all = configuration.buildDestinations(context: DestinationContext(transport: transport, logger: logger))
        let unknown = Set(names).subtracting(all.map(\.name))
        if !unknown.isEmpty {
            throw ServiceError(
                "unknown destination(s): \(unknown.sorted().joined(separator: ", ")); configured: \(all.map(\.name).joined(separator: ", "))",
                code: .usage)
        }
        let selected = names.isEmpty ? all : all.filter { names.contains($0.name) }
        guard apply else {
            return ErasureResources(destinations: all, selected: selected, producer: nil, receipts: nil, processor: nil, transport: transport)
        }
        let producer = try KafkaProducer(properties: KafkaProperties(configuration.producerProperties()), logger: logger)
        let receipts = RetirementService.makeReceiptWriter(configuration: configuration, producer: producer, logger: logger)
        let processor = RetirementService.makeProcessor(
            configuration: configuration, destinations: selected, producer: producer, receipts: receipts, health: health, logger: logger)
        return ErasureResources(
            destinations: all, selected: selected, producer: producer, receipts: receipts, processor: processor, transport: transport)
    }

    /// Closes everything; waits at most `receiptTimeout` for queued receipts and `flushTimeout`
    /// for the producer.
    package func shutDown(receiptTimeout: Duration = .seconds(5), flushTimeout: Duration = .seconds(5)) async {
        for destination in destinations { await destination.shutdown() }
        await receipts?.shutdown(timeout: receiptTimeout)
        let flush = flushTimeout.components
        try? producer?.flush(timeoutMs: Int32(clamping: flush.seconds * 1000 + flush.attoseconds / 1_000_000_000_000_000))
        producer?.shutdown()
        await transport.shutdown()
    }
}
