/// Carries one delivery continuation through librdkafka's per-message opaque.
///
/// `@unchecked Sendable`: its one property is immutable; librdkafka resumes it once, from the
/// producer's poll thread, after the sending task handed it over.
final class DeliveryBox: @unchecked Sendable {
    private let continuation: CheckedContinuation<Result<TopicPartitionOffset, KafkaError>, Never>

    init(_ continuation: CheckedContinuation<Result<TopicPartitionOffset, KafkaError>, Never>) {
        self.continuation = continuation
    }

    func resume(_ result: Result<TopicPartitionOffset, KafkaError>) {
        continuation.resume(returning: result)
    }
}
