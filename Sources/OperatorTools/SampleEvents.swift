import Kafka
import RetirementEvent

/// Retirement records shaped as the LMS plugin publishes them (docs/contract.md#event), with
/// made-up learners: for the demo, the benchmarks and the tests.
package enum SampleEvents {
    package static let type = RetirementEvent.eventType

    /// A deterministic UUID-shaped `ce_id` per user id.
    package static func eventID(_ userID: Int) -> String {
        String(format: "00000000-0000-4000-8000-%012d", userID)
    }

    /// The CloudEvents headers of one record.
    package static func headers(
        userID: Int, eventID: String? = nil, type: String = SampleEvents.type, source: String = "openedx/lms/lms.test"
    ) -> [KafkaHeader] {
        [
            KafkaHeader(name: "ce_specversion", string: "1.0"),
            KafkaHeader(name: "ce_type", string: type),
            KafkaHeader(name: "ce_id", string: eventID ?? self.eventID(userID)),
            KafkaHeader(name: "ce_source", string: source),
            KafkaHeader(name: "ce_time", string: "2026-11-01T00:00:00Z"),
            KafkaHeader(name: "content-type", string: "application/json"),
        ]
    }

    /// The JSON value of one record: a made-up learner `learner<id>@example.org`.
    package static func value(userID: Int) -> [UInt8] {
        Array(
            """
            {"user_id": \(userID), "username": "learner\(userID)", "email": "learner\(userID)@example.org", \
            "retired_username": "retired__user_\(userID)", "retired_email": "retired__user_\(userID)@retired.invalid", \
            "requested_at": "2026-11-01T00:00:00Z"}
            """.utf8)
    }

    /// The value of the same learner with its personal fields sealed under `key`, as the LMS
    /// plugin publishes it with a keyring (docs/encryption.md); `eventID` is its `ce_id`.
    package static func sealedValue(userID: Int, eventID: String, key: Keyring.Key) throws -> [UInt8] {
        let fields =
            "{\"username\":\"learner\(userID)\",\"email\":\"learner\(userID)@example.org\",\"retired_username\":\"retired__user_\(userID)\",\"retired_email\":\"retired__user_\(userID)@retired.invalid\"}"
        let envelope = try FieldEnvelope.seal(plaintext: Array(fields.utf8), key: key, eventID: eventID, userID: Int64(userID))
        return Array("{\"user_id\": \(userID), \"requested_at\": \"2026-11-01T00:00:00Z\", \"encrypted\": \(envelope)}".utf8)
    }

    /// Produces one valid record per user id, acknowledged; returns where each landed.
    @discardableResult
    package static func produce(
        _ userIDs: some Sequence<Int>, to topic: String, with producer: KafkaProducer, timestamp: Int64? = nil,
        source: String = "openedx/lms/lms.test"
    ) async throws -> [Int: TopicPartitionOffset] {
        var placed: [Int: TopicPartitionOffset] = [:]
        try await withThrowingTaskGroup(of: (Int, TopicPartitionOffset).self) { group in
            for userID in userIDs {
                group.addTask {
                    let landed = try await producer.send(
                        topic: topic, key: Array(String(userID).utf8), value: value(userID: userID),
                        headers: headers(userID: userID, source: source), timestamp: timestamp)
                    return (userID, landed)
                }
            }
            for try await (userID, landed) in group { placed[userID] = landed }
        }
        return placed
    }
}
