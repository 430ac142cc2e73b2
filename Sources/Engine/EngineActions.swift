/// What the poll loop must do for the engine on its next turn: store offsets, pause and resume
/// partitions. The engine never touches the Kafka client itself.
public struct EngineActions: Sendable, Equatable {
    /// Committable offsets (next offset to consume) to store, per partition.
    public var stores: [PartitionID: Int64] = [:]
    public var pause: Set<PartitionID> = []
    public var resume: Set<PartitionID> = []

    public init() {}

    public var isEmpty: Bool { stores.isEmpty && pause.isEmpty && resume.isEmpty }
}

/// Settings of the dispatch engine.
public struct DispatchConfiguration: Sendable {
    /// Events being applied at once, across partitions (`processing.max_in_flight`).
    public var maxInFlight: Int
    /// Events accepted and not done, per partition, before the partition is paused.
    public var maxBufferedPerPartition: Int

    public init(maxInFlight: Int = 1000, maxBufferedPerPartition: Int? = nil) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxBufferedPerPartition = max(1, maxBufferedPerPartition ?? maxInFlight)
    }
}
