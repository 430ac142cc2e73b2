import Destinations
import Engine
import Kafka
import Logging
import Prometheus
import RetirementEvent
import ServiceLifecycle
import UnixSignals

/// Everything `run` starts, built from a configuration. Tests build it the same way.
package struct RetirementService: Sendable {
    package let configuration: ServiceConfiguration
    package let consumer: ConsumerService
    package let health: HealthState
    package let producer: KafkaProducer
    /// The destinations, producer, receipts and HTTP client, closed when the service stops.
    let resources: ErasureResources
    let http: (any Service)?
    let logger: Logger

    /// Builds the service. Throws ``ConfigLoader/Failure`` for bad destination settings and
    /// ``KafkaError`` for bad Kafka properties. With `exitAtStopDeadline` (the `run` process), a
    /// stop that overruns its budget ends the process (see ``StopWatchdog``).
    package static func build(
        configuration: ServiceConfiguration, registry: PrometheusCollectorRegistry?, logger: Logger,
        transport: HTTPTransport = HTTPTransport(), exitAtStopDeadline: Bool = false
    ) throws -> RetirementService {
        let destinationHealth = DestinationHealth()
        let health = HealthState(destinations: destinationHealth, pollStallLimit: configuration.http.livenessTimeout)
        let resources = try ErasureResources.open(configuration: configuration, health: destinationHealth, transport: transport, logger: logger)
        guard var processor = resources.processor, let producer = resources.producer else {
            preconditionFailure("ErasureResources.open without a dry run opens a producer and a processor")
        }
        let engineBox = Unchecked<DispatchEngine?>(nil)
        processor.onDeadLetterStall = { partition, stalled in engineBox.value?.setStalled(partition, stalled) }
        let work = processor
        let engine = DispatchEngine(
            configuration: configuration.processing.dispatchConfiguration, metrics: work.metrics, logger: logger
        ) { record in work.start(record) }
        engineBox.value = engine
        let consumer = ConsumerService(
            configuration: configuration, engine: engine, health: health, logger: logger,
            producerFailure: { producer.fatalError },
            onStop: { deadline in if exitAtStopDeadline { StopWatchdog.arm(deadline: deadline, logger: logger) } })
        let http: (any Service)? =
            configuration.http.enabled
            ? HTTPServer.make(host: configuration.http.host, port: configuration.http.port, health: health, registry: registry, logger: logger)
            : nil
        return RetirementService(
            configuration: configuration, consumer: consumer, health: health, producer: producer, resources: resources, http: http,
            logger: logger)
    }

    /// Every configured destination.
    package var destinations: [DestinationPipeline] { resources.destinations }

    /// Runs until SIGTERM/SIGINT (or a fatal error): the HTTP server, then the consumer; on shutdown
    /// the consumer drains and commits first, then the HTTP server stops.
    package func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
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

    /// Closes the destinations, receipts and producer within what is left of the stop budget
    /// (2 s for receipts and 5 s for the producer at most).
    private func finish() async {
        let left = consumer.stopDeadline.map { $0 - .now - .milliseconds(300) } ?? .seconds(7)
        await resources.shutDown(receiptTimeout: max(.zero, min(.seconds(2), left)), flushTimeout: max(.zero, min(.seconds(5), left - .seconds(2))))
    }
}

extension RetirementService {
    /// The event processor of `run`, `replay` and `dlq redrive`: the configured retries, the
    /// dead-letter topic and the receipts.
    package static func makeProcessor(
        configuration: ServiceConfiguration, destinations: [DestinationPipeline], producer: KafkaProducer,
        receipts: ErasureReceiptWriter?, health: DestinationHealth = DestinationHealth(), logger: Logger
    ) -> EventProcessor {
        let metrics = EngineMetrics()
        for destination in destinations { metrics.register(destination: destination.name) }
        return EventProcessor(
            destinations: destinations,
            decoder: RetirementEventDecoder(
                maxValueBytes: configuration.processing.maxEventBytes, keyring: configuration.encryption.keyring,
                requireEncryption: configuration.encryption.required),
            deadLetters: KafkaDeadLetterSink(producer: producer, topic: configuration.kafka.deadLetterTopic),
            retry: configuration.processing.retry,
            configurationErrorRetryInterval: configuration.processing.configurationErrorRetryInterval,
            health: health, receipts: receipts, metrics: metrics, logger: logger)
    }
}

extension RetirementService {
    /// The receipt writer of the configuration (`nil` when receipts are off). Call its
    /// `shutdown(timeout:)` when done, so queued receipts get their chance to be written.
    package static func makeReceiptWriter(
        configuration: ServiceConfiguration, producer: KafkaProducer, logger: Logger
    )
        -> ErasureReceiptWriter?
    {
        guard configuration.receipts.topic != nil || configuration.receipts.log else { return nil }
        return ErasureReceiptWriter(
            producer: configuration.receipts.topic == nil ? nil : producer, topic: configuration.receipts.topic,
            logger: configuration.receipts.log ? logger : nil, capacity: configuration.processing.receiptQueueSize,
            errorLogger: logger)
    }
}
