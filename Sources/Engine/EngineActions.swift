/// What the poll loop must do for the engine on its next turn: store offsets, pause and resume
/// partitions. The engine never touches the Kafka client itself.
package struct EngineActions: Sendable, Equatable {
    /// Committable offsets (next offset to consume) to store, per partition.
    package var stores: [PartitionID: Int64] = [:]
    package var pause: Set<PartitionID> = []
    package var resume: Set<PartitionID> = []

    package init() {}

    package var isEmpty: Bool { stores.isEmpty && pause.isEmpty && resume.isEmpty }
}
