import ConfigFile

extension ServiceConfiguration {
    /// `kafka:` (docs/contract.md#config-kafka). Each key is read with its default and range at its field.
    package struct KafkaSection: Sendable {
        package var bootstrapServers: String
        /// The topic name with the optional prefix applied (`{prefix}-{topic}`).
        package var topic: String
        package var groupID: String
        package var deadLetterTopic: String
        /// librdkafka's `partition.assignment.strategy`.
        package var assignmentStrategy: AssignmentStrategy
        /// Passed to librdkafka as is, over the service's defaults (refused keys removed; see
        /// ``KafkaClientProperties``).
        package var properties: [String: String]
        /// Session timeout for the group (`session.timeout.ms`).
        package var sessionTimeout: Duration
        /// Kilobytes of records librdkafka may hold read ahead (`prefetch_kbytes`): its
        /// `queued.max.messages.kbytes`, and the largest fetch response (`fetch.max.bytes`, at
        /// least 1,000,000 as librdkafka requires).
        package var prefetchKBytes: Int

        /// Reads `kafka:`; every problem goes to the reader's problems, naming the key.
        package init(reader k: SettingsReader) {
            let baseTopic = k.string("topic", or: "user-retirement")
            bootstrapServers = k.string("bootstrap_servers", required: true) ?? ""
            topic = k.string("topic_prefix").map { "\($0)-\(baseTopic)" } ?? baseTopic
            groupID = k.string("group_id", or: "retirement-consumer")
            deadLetterTopic = k.string("dead_letter_topic", or: "\(topic).dlq")
            assignmentStrategy = k.choice("assignment_strategy", default: AssignmentStrategy.range)
            properties = KafkaClientProperties.checked(k.stringMap("properties"), problems: k.problems)
            sessionTimeout = k.duration("session_timeout", default: .seconds(45), minimum: .seconds(3))
            prefetchKBytes = k.int("prefetch_kbytes", default: 1024, range: 256...2_097_151)
            k.finish()
        }
    }
}
