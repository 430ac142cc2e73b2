import ConfigFile
import Kafka
import Logging
import OperatorTools
import ServiceRuntime
import TestSupport
import Testing

/// `RetirementService` built and run in this process, exactly as `run` builds it, against the mock
/// cluster and a local webhook (next to the process-level tests, which spawn the binary).
@Suite(.serialized) struct InProcessServiceTests {
    static let logger: Logger = {
        var logger = Logger(label: "in-process")
        logger.logLevel = .error
        return logger
    }()

    func configuration(_ cluster: TestCluster, _ webhook: WebhookServer, groupID: String) throws -> ServiceConfiguration {
        let yaml = """
            kafka:
              bootstrap_servers: "\(cluster.bootstrapServers)"
              topic: \(cluster.topic)
              group_id: \(groupID)
              properties:
                session.timeout.ms: "6000"
                heartbeat.interval.ms: "300"
            processing:
              shutdown_grace: 2s
              revoke_grace: 1s
            http:
              enabled: false
            logging:
              level: error
            destinations:
              - name: crm
                type: webhook
                url: "\(webhook.url)"
                secret: "\(webhook.secret)"
            """
        return try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: [:]))
    }

    @Test func erasesCommitsAndStopsGracefully() async throws {
        let cluster = try TestCluster(partitions: 2)
        let webhook = try await WebhookServer()
        defer { webhook.stop() }
        let service = try RetirementService.build(
            configuration: configuration(cluster, webhook, groupID: "in-process"), registry: nil, logger: Self.logger)
        let running = Task { try await service.run(signals: []) }
        try await SampleEvents.produce(1...20, to: cluster.topic, with: cluster.producer)
        #expect(
            await eventually(timeout: .seconds(30)) {
                webhook.erasedUserIDs.isSuperset(of: Set(1...20)) && cluster.isFullyCommitted(groupID: "in-process")
            })
        #expect(service.health.notReadyReasons.isEmpty)
        service.consumer.requestStop()
        try await running.value
    }

    /// A fatal error of the idempotent dead-letter producer makes every later dead-letter write
    /// fail: readiness turns false with the reason, and the service stops with an error (the
    /// process exits non-zero) so the orchestrator restarts it.
    @Test func aFatalDeadLetterProducerErrorFailsReadinessAndStopsTheService() async throws {
        let cluster = try TestCluster(partitions: 2)
        let webhook = try await WebhookServer()
        defer { webhook.stop() }
        let service = try RetirementService.build(
            configuration: configuration(cluster, webhook, groupID: "in-process-fatal"), registry: nil, logger: Self.logger)
        let running = Task { try await service.run(signals: []) }
        try await SampleEvents.produce(1...10, to: cluster.topic, with: cluster.producer)
        #expect(await eventually(timeout: .seconds(30)) { webhook.erasedUserIDs.isSuperset(of: Set(1...10)) })
        service.producer.raiseFatalErrorForTesting()
        #expect(
            await eventually(timeout: .seconds(10)) {
                service.health.notReadyReasons.contains { $0.hasPrefix("failed: dead-letter producer") }
            }, "\(service.health.notReadyReasons)")
        let outcome = await running.result
        #expect(throws: KafkaError.self) { try outcome.get() }
    }
}
