import Engine
import Kafka

/// Writes dead-letter records to Kafka (docs/contract.md#dead-letter) and returns once the broker acknowledged them.
package struct KafkaDeadLetterSink: DeadLetterSink {
    package let producer: KafkaProducer
    package let topic: String

    package init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    package func deadLetter(_ record: InboundRecord, reason: String, owedDestinations: [String], attempts: Int) async throws {
        var headers = (record.headers?.allHeaders ?? []).map { KafkaHeader(name: $0.name, value: $0.value) }
        headers.append(KafkaHeader(name: DeadLetterContract.Header.error, string: reason))
        headers.append(KafkaHeader(name: DeadLetterContract.Header.destinations, string: DeadLetterContract.owedList(owedDestinations)))
        headers.append(KafkaHeader(name: DeadLetterContract.Header.originalTopic, string: record.partition.topic))
        headers.append(KafkaHeader(name: DeadLetterContract.Header.originalPartition, string: String(record.partition.partition)))
        headers.append(KafkaHeader(name: DeadLetterContract.Header.originalOffset, string: String(record.offset)))
        headers.append(KafkaHeader(name: DeadLetterContract.Header.attempts, string: String(attempts)))
        if let timestamp = record.timestamp {
            headers.append(KafkaHeader(name: DeadLetterContract.Header.originalTimestamp, string: String(timestamp)))
        }
        let result: Result<TopicPartitionOffset, KafkaError>
        do {
            result = .success(try await producer.send(topic: topic, key: record.key, value: record.value, headers: headers))
        } catch {
            result = .failure(error)
        }
        guard case .failure(let error) = result else { return }
        guard error.code == KafkaError.messageSizeTooLarge else { throw error }
        // The original cannot be copied whole: keep its coordinates so it can be read from the
        // source topic while retained; never drop the record silently.
        headers.append(KafkaHeader(name: DeadLetterContract.Header.valueOmitted, string: "too_large"))
        try await producer.send(topic: topic, key: record.key, value: nil, headers: headers)
    }
}
