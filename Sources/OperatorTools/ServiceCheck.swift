import Destinations
import Kafka
import Logging
import ServiceRuntime

/// `check`: reaches Kafka (topic, dead-letter topic, the group coordinator) and every destination.
package enum ServiceCheck {
    /// Returns one message per problem; empty when everything answered.
    package static func run(_ configuration: ServiceConfiguration, logger: Logger) async -> [String] {
        var problems: [String] = []
        do {
            let consumer = try KafkaConsumer(
                properties: KafkaProperties(configuration.consumerProperties().merging(["log_level": "2"]) { _, new in new }),
                logger: logger)
            for topic in [configuration.kafka.topic, configuration.kafka.deadLetterTopic] {
                do {
                    let count = try consumer.partitionCount(topic: topic, timeoutMs: 10_000)
                    logger.info("topic reachable", metadata: ["topic": "\(topic)", "partitions": "\(count)"])
                } catch {
                    problems.append("kafka: topic \(topic) is not reachable: \(error)")
                }
            }
            do {
                _ = try consumer.committed([TopicPartition(topic: configuration.kafka.topic, partition: 0)], timeoutMs: 10_000)
            } catch {
                problems.append("kafka: cannot read the committed offsets of group \(configuration.kafka.groupID): \(error)")
            }
        } catch {
            problems.append("kafka: \(error)")
        }
        let transport = HTTPTransport(connectTimeout: .seconds(5), requestTimeout: .seconds(15))
        for destination in configuration.buildDestinations(context: DestinationContext(transport: transport, logger: logger)) {
            problems.append(contentsOf: await destination.check())
            await destination.shutdown()
        }
        await transport.shutdown()
        return problems
    }
}
