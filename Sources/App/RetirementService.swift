import UnixSignals
import Destinations
import Engine
import Kafka
import Logging
import Prometheus
import RetirementEvent
import ServiceLifecycle

/// Everything `run` starts, built from a configuration. Tests build it the same way.
public struct RetirementService: Sendable {
    public let configuration: ServiceConfiguration
    public let consumer: ConsumerService
    public let health: HealthState
    public let destinations: [DestinationPipeline]
    public let producer: KafkaProducer
    public let transport: HTTPTransport
    let http: (any Service)?
    let logger: Logger

    /// Builds the service. Throws ``ConfigLoader/Failure`` for bad destination settings and
    /// ``KafkaError`` for bad Kafka properties.
    public static func build(
        configuration: ServiceConfiguration, registry: PrometheusCollectorRegistry?, logger: Logger,
        transport: HTTPTransport = HTTPTransport()
    ) throws -> RetirementService {
        let destinations = try configuration.buildDestinations(context: DestinationContext(transport: transport, logger: logger))
        let destinationHealth = DestinationHealth()
        let health = HealthState(
            destinations: destinationHealth,
            pollStallLimit: max(.seconds(30), configuration.processing.revokeGrace + configuration.processing.shutdownGrace + .seconds(10)))
        let producer = try KafkaProducer(properties: KafkaProperties(configuration.producerProperties()), logger: logger)
        var processor = makeProcessor(
            configuration: configuration, destinations: destinations, producer: producer, health: destinationHealth, logger: logger)
        let engineBox = EngineBox()
        processor.onDeadLetterStall = { partition, stalled in engineBox.engine?.setStalled(partition, stalled) }
        let work = processor
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(
                maxInFlight: configuration.processing.maxInFlight,
                maxBufferedPerPartition: configuration.processing.maxBufferedPerPartition),
            metrics: work.metrics, logger: logger
        ) { record in await work.process(record) }
        engineBox.engine = engine
        let consumer = ConsumerService(configuration: configuration, engine: engine, health: health, logger: logger)
        let http: (any Service)? =
            configuration.http.enabled
            ? HTTPServer.make(host: configuration.http.host, port: configuration.http.port, health: health, registry: registry, logger: logger)
            : nil
        return RetirementService(
            configuration: configuration, consumer: consumer, health: health, destinations: destinations,
            producer: producer, transport: transport, http: http, logger: logger)
    }

    /// Runs until SIGTERM/SIGINT (or a fatal error): the HTTP server, then the consumer; on shutdown
    /// the consumer drains and commits first, then the HTTP server stops.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let http { services.append(.init(service: http)) }
        services.append(.init(service: consumer, successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger))
        do {
            try await group.run()
        } catch {
            await finish()
            throw error
        }
        await finish()
    }

    private func finish() async {
        for destination in destinations { await destination.shutdown() }
        try? producer.flush(timeoutMs: 5000)
        producer.shutdown()
        await transport.shutdown()
    }
}

extension RetirementService {
    /// The event processor of `run`, `replay` and `dlq redrive`: the configured retries, the
    /// dead-letter topic and the receipts.
    public static func makeProcessor(
        configuration: ServiceConfiguration, destinations: [DestinationPipeline], producer: KafkaProducer,
        health: DestinationHealth = DestinationHealth(), logger: Logger
    ) -> EventProcessor {
        let metrics = EngineMetrics()
        for destination in destinations { metrics.register(destination: destination.name) }
        let receipts: (any ReceiptSink)? =
            configuration.receipts.topic != nil || configuration.receipts.log
            ? ErasureReceiptWriter(
                producer: configuration.receipts.topic == nil ? nil : producer, topic: configuration.receipts.topic,
                logger: configuration.receipts.log ? logger : nil)
            : nil
        return EventProcessor(
            destinations: destinations,
            decoder: RetirementEventDecoder(
                maxValueBytes: configuration.processing.maxEventBytes, keyring: configuration.encryption.keyring),
            deadLetters: KafkaDeadLetterSink(producer: producer, topic: configuration.kafka.deadLetterTopic),
            retry: configuration.processing.retry,
            configurationErrorRetryInterval: configuration.processing.configurationErrorRetryInterval,
            health: health, receipts: receipts, metrics: metrics, logger: logger)
    }
}

/// Breaks the cycle between the processor (built first) and the engine that runs it.
final class EngineBox: @unchecked Sendable {
    var engine: DispatchEngine?
}
