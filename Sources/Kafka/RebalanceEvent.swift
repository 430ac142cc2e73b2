/// What librdkafka tells a client about group membership changes; delivered on the polling thread.
package enum RebalanceEvent: Sendable, Equatable {
    /// Partitions newly assigned (already assigned in librdkafka when the handler runs).
    case assign([TopicPartition])
    /// Partitions about to be revoked; the handler may finish work, store and commit offsets.
    case revoke([TopicPartition])
    /// Partitions lost without a clean revoke; another member may own them already.
    case lost([TopicPartition])
}
