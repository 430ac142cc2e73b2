import Foundation
import Kafka

/// Builds retirement records as the LMS plugin publishes them (docs/contract.md#event).
public enum TestEvents {
    public static let type = "org.openedx.learning.user.retirement.requested.v1"

    public static func eventID(_ userID: Int) -> String {
        String(format: "00000000-0000-4000-8000-%012d", userID)
    }

    public static func headers(userID: Int, type: String = TestEvents.type) -> [KafkaHeader] {
        [
            KafkaHeader(name: "ce_specversion", string: "1.0"),
            KafkaHeader(name: "ce_type", string: type),
            KafkaHeader(name: "ce_id", string: eventID(userID)),
            KafkaHeader(name: "ce_source", string: "openedx/lms/lms.test"),
            KafkaHeader(name: "ce_time", string: "2026-11-01T00:00:00Z"),
            KafkaHeader(name: "content-type", string: "application/json"),
        ]
    }

    public static func value(userID: Int) -> [UInt8] {
        Array("""
            {"user_id": \(userID), "username": "learner\(userID)", "email": "learner\(userID)@example.org", \
            "retired_username": "retired__user_\(userID)", "retired_email": "retired__user_\(userID)@retired.invalid", \
            "requested_at": "2026-11-01T00:00:00Z"}
            """.utf8)
    }

    /// Produces valid events for `userIDs`; returns their (partition, offset) per user id.
    @discardableResult
    public static func produce(_ userIDs: some Sequence<Int>, to topic: String, with producer: KafkaProducer, timestamp: Int64? = nil)
        async throws -> [Int: TopicPartitionOffset]
    {
        var placed: [Int: TopicPartitionOffset] = [:]
        try await withThrowingTaskGroup(of: (Int, TopicPartitionOffset).self) { group in
            for userID in userIDs {
                group.addTask {
                    let where_ = try await producer.send(
                        topic: topic, key: Array(String(userID).utf8), value: value(userID: userID),
                        headers: headers(userID: userID), timestamp: timestamp)
                    return (userID, where_)
                }
            }
            for try await (userID, where_) in group { placed[userID] = where_ }
        }
        return placed
    }
}
