import ConfigFile
import Kafka
import ServiceRuntime
import Testing

/// Pins the librdkafka properties each role gets from ``KafkaClientProperties``, the one builder:
/// the service's consumer, the tools' consumers, the readers, the inspector and the producer.
@Suite struct KafkaClientPropertiesTests {
    static let yaml = """
        kafka:
          bootstrap_servers: "b1:9092,b2:9092"
          assignment_strategy: roundrobin
          session_timeout: 30s
          prefetch_kbytes: 2048
          properties:
            security.protocol: SASL_SSL
            sasl.mechanism: SCRAM-SHA-512
            group.instance.id: pod-0
            fetch.wait.max.ms: 250
            log_level: 6
        """

    static let passthrough = [
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "group.instance.id": "pod-0",
        "fetch.wait.max.ms": "250", "log_level": "6",
    ]

    func configuration(_ yaml: String = Self.yaml) throws -> ServiceConfiguration {
        try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: [:]), requireDestinations: false)
    }

    @Test func theServiceConsumer() throws {
        let config = try configuration()
        #expect(config.kafka.properties == Self.passthrough)
        #expect(
            config.consumerProperties() == [
                "bootstrap.servers": "b1:9092,b2:9092",
                "group.id": "retirement-consumer",
                "client.id": "retirement-consumer",
                "enable.auto.offset.store": "false",
                "enable.auto.commit": "true",
                "auto.commit.interval.ms": "200",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": "false",
                "partition.assignment.strategy": "roundrobin",
                "session.timeout.ms": "30000",
                "statistics.interval.ms": "5000",
                "queued.max.messages.kbytes": "2048",
                "fetch.max.bytes": "2097152",
                "receive.message.max.bytes": "100000000",
                "queued.min.messages": "100000",
                "fetch.wait.max.ms": "250",
                "log_level": "6",
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
                "group.instance.id": "pod-0",
            ])
    }

    @Test func theServiceConsumerWithDefaults() throws {
        let config = try configuration("kafka:\n  bootstrap_servers: \"b:9092\"\n")
        #expect(
            config.consumerProperties() == [
                "bootstrap.servers": "b:9092",
                "group.id": "retirement-consumer",
                "client.id": "retirement-consumer",
                "enable.auto.offset.store": "false",
                "enable.auto.commit": "true",
                "auto.commit.interval.ms": "200",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": "false",
                "partition.assignment.strategy": "range",
                "session.timeout.ms": "45000",
                "statistics.interval.ms": "5000",
                "queued.max.messages.kbytes": "1024",
                "fetch.max.bytes": "1048576",
                "receive.message.max.bytes": "100000000",
                "queued.min.messages": "100000",
                "fetch.wait.max.ms": "100",
                "log_level": "4",
            ])
        #expect(
            config.producerProperties() == [
                "bootstrap.servers": "b:9092", "client.id": "retirement-consumer-dlq", "log_level": "4",
            ])
    }

    /// `replay` and `dlq redrive`: the service consumer's properties but for their own group, no
    /// automatic commits and no static membership.
    @Test func theToolConsumers() throws {
        let config = try configuration()
        for group in ["retirement-consumer.replay", "retirement-consumer.dlq-redrive"] {
            var expected = config.consumerProperties()
            expected["group.id"] = group
            expected["enable.auto.commit"] = "false"
            expected["group.instance.id"] = nil
            #expect(config.consumerProperties(groupID: group) == expected)
            #expect(expected.count == 19)
        }
    }

    /// `dlq list`, the plans of `replay` and `dlq redrive`, `keys check`, the demo (``TopicReader``).
    @Test func theReaders() throws {
        let config = try configuration()
        #expect(
            KafkaClientProperties.reader(
                bootstrapServers: config.kafka.bootstrapServers, passthrough: config.kafka.properties,
                groupID: "retirement-consumer.dlq-redrive") == [
                    "bootstrap.servers": "b1:9092,b2:9092",
                    "group.id": "retirement-consumer.dlq-redrive",
                    "enable.auto.commit": "false",
                    "enable.auto.offset.store": "false",
                    "fetch.wait.max.ms": "50",
                    "log_level": "6",
                    "security.protocol": "SASL_SSL",
                    "sasl.mechanism": "SCRAM-SHA-512",
                ])
        #expect(
            KafkaClientProperties.reader(bootstrapServers: "b:9092", passthrough: [:], groupID: "demo-summary") == [
                "bootstrap.servers": "b:9092", "group.id": "demo-summary", "enable.auto.commit": "false",
                "enable.auto.offset.store": "false", "fetch.wait.max.ms": "50", "log_level": "3",
            ])
    }

    /// `status` (``GroupInspector``): reads the service group's offsets without joining it.
    @Test func theInspector() throws {
        let config = try configuration()
        #expect(
            KafkaClientProperties.inspector(
                bootstrapServers: config.kafka.bootstrapServers, passthrough: config.kafka.properties, groupID: config.kafka.groupID)
                == [
                    "bootstrap.servers": "b1:9092,b2:9092",
                    "group.id": "retirement-consumer",
                    "enable.auto.commit": "false",
                    "fetch.wait.max.ms": "250",
                    "log_level": "6",
                    "security.protocol": "SASL_SSL",
                    "sasl.mechanism": "SCRAM-SHA-512",
                    "group.instance.id": "pod-0",
                ])
        #expect(
            KafkaClientProperties.inspector(bootstrapServers: "b:9092", passthrough: [:], groupID: "demo") == [
                "bootstrap.servers": "b:9092", "group.id": "demo", "enable.auto.commit": "false", "log_level": "3",
            ])
    }

    /// Dead letters and receipts: the passthrough without consumer-only keys; ``KafkaProducer`` puts
    /// its delivery defaults under it.
    @Test func theProducer() throws {
        let config = try configuration()
        #expect(
            config.producerProperties() == [
                "bootstrap.servers": "b1:9092,b2:9092",
                "client.id": "retirement-consumer-dlq",
                "log_level": "6",
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
            ])
        #expect(
            KafkaProducer.defaultProperties == [
                "enable.idempotence": "true", "acks": "all", "linger.ms": "5", "message.timeout.ms": "30000",
            ])
    }
}
