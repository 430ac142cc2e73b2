import ConfigFile
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
    package let destinations: [DestinationPipeline]
    package let producer: KafkaProducer
    package let transport: HTTPTransport
    let receipts: ErasureReceiptWriter?
    let http: (any Service)?
    let logger: Logger

    /// Builds the service. Throws ``ConfigLoader/Failure`` for bad destination settings and
    /// ``KafkaError`` for bad Kafka properties. With `exitAtStopDeadline` (the `run` process), a
    /// stop that overruns its budget ends the process (see ``StopWatchdog``).
    package static func build(
        configuration: ServiceConfiguration, registry: PrometheusCollectorRegistry?, logger: Logger,
        transport: HTTPTransport = HTTPTransport(), exitAtStopDeadline: Bool = false
    ) throws -> RetirementService {
        let destinations = configuration.buildDestinations(context: DestinationContext(transport: transport, logger: logger))
        let destinationHealth = DestinationHealth()
        let health = HealthState(destinations: destinationHealth, pollStallLimit: configuration.http.livenessTimeout)
        let producer = try KafkaProducer(properties: KafkaProperties(configuration.producerProperties()), logger: logger)
        let receipts = makeReceiptWriter(configuration: configuration, producer: producer, logger: logger)
        var processor = makeProcessor(
            configuration: configuration, destinations: destinations, producer: producer, receipts: receipts,
            health: destinationHealth, logger: logger)
        let engineBox = Unchecked<DispatchEngine?>(nil)
        processor.onDeadLetterStall = { partition, stalled in engineBox.value?.setStalled(partition, stalled) }
        let work = processor
        let engine = DispatchEngine(
            configuration: DispatchConfiguration(
                maxInFlight: configuration.processing.maxInFlight,
                maxBufferedPerPartition: configuration.processing.maxBufferedPerPartition,
                maxBufferedTotal: configuration.processing.maxBuffered,
                maxUncommittedPerPartition: configuration.processing.maxUncommittedPerPartition,
                stuckEventWarning: configuration.processing.stuckEventWarning),
            metrics: work.metrics, logger: logger
        ) { record in await work.process(record) }
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
            configuration: configuration, consumer: consumer, health: health, destinations: destinations,
            producer: producer, transport: transport, receipts: receipts, http: http, logger: logger)
    }

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
        await ErasureResources(destinations: destinations, producer: producer, receipts: receipts, transport: transport)
            .shutDown(receiptTimeout: max(.zero, min(.seconds(2), left)), flushTimeout: max(.zero, min(.seconds(5), left - .seconds(2))))
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
