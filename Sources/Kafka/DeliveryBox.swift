import CRdKafka
import Foundation
import Logging

/// Carries one delivery continuation through librdkafka's per-message opaque.
final class DeliveryBox: @unchecked Sendable {
    private let continuation: CheckedContinuation<Result<TopicPartitionOffset, KafkaError>, Never>

    init(_ continuation: CheckedContinuation<Result<TopicPartitionOffset, KafkaError>, Never>) {
        self.continuation = continuation
    }

    func resume(_ result: Result<TopicPartitionOffset, KafkaError>) {
        continuation.resume(returning: result)
    }
}
