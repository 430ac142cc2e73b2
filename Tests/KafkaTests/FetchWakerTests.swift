import Foundation
import Kafka
import Logging
import Testing

/// librdkafka 2.0.2 stops fetching while its queue is over queued.max.messages.kbytes and looks
/// again only when its broker thread wakes; the consumer notices and wakes it.
@Suite(.serialized) struct FetchWakerTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .error
        return logger
    }()

    @Test func aBacklogBehindASmallQueueIsSeenAndItsFetcherWoken() async throws {
        let cluster = try MockCluster(logger: logger)
        try cluster.createTopic("w", partitions: 1)
        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers]), logger: logger)
        let value = [UInt8](repeating: 0x61, count: 1000)
        let total = 3000
        for index in 0..<total {
            while try !producer.enqueue(topic: "w", key: Array("k\(index)".utf8), value: value, partition: 0) {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        try producer.flush(timeoutMs: 10_000)
        producer.shutdown()
        let consumer = try KafkaConsumer(
            properties: KafkaProperties([
                "bootstrap.servers": cluster.bootstrapServers, "group.id": "w1", "enable.auto.commit": "false",
                // About 64 records of this size: the queue fills again and again.
                "queued.max.messages.kbytes": "64", "fetch.max.bytes": "1000000", "max.partition.fetch.bytes": "65536",
            ]),
            logger: logger)
        try consumer.assign([TopicPartitionOffset(TopicPartition(topic: "w", partition: 0), offset: 0)])
        var read = 0
        var sawBacklog = false
        let deadline = ContinuousClock.now + .seconds(60)
        while read < total, ContinuousClock.now < deadline {
            read += try consumer.poll(maxMessages: 16, timeoutMs: 100) { _ in true }
            if read > 0, read < total - 200, consumer.knowsOfUnconsumedRecords { sawBacklog = true }
        }
        #expect(read == total)
        #expect(sawBacklog, "librdkafka's last fetch saw records past the position while the backlog was read")
        #expect(consumer.fetcherWakeRounds > 0, "the consumer woke the stalled fetcher")
        #expect(consumer.knowsOfUnconsumedRecords == false, "caught up: nothing left to wake for")
        try? consumer.close()
    }
}
