import Destinations
import Kafka

/// What `run`, `replay` and `dlq redrive` open to apply erasures, closed in one order: the
/// destinations, then the receipts still queued, then the producer (its last deliveries), then
/// the HTTP client.
package struct ErasureResources: Sendable {
    package let destinations: [DestinationPipeline]
    /// The dead-letter and receipts producer (`nil` for a dry run).
    package let producer: KafkaProducer?
    package let receipts: ErasureReceiptWriter?
    package let transport: HTTPTransport

    package init(
        destinations: [DestinationPipeline], producer: KafkaProducer?, receipts: ErasureReceiptWriter?, transport: HTTPTransport
    ) {
        self.destinations = destinations
        self.producer = producer
        self.receipts = receipts
        self.transport = transport
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
