/// What the engine can take before it would pause a partition, read by the poll loop once per
/// poll turn: the turn ends at the record that fills a partition's room or the total, so the
/// pause is applied before librdkafka hands over more, as with one record per turn.
package struct IntakeRoom: Sendable {
    /// Per assigned partition; a partition not listed (not assigned) has no room.
    package var byPartition: [PartitionID: Int]
    /// Across every partition.
    package var total: Int
    /// Per partition, what is left of its reserved share of the total (see ``shared``).
    package var reserved: [PartitionID: Int]
    /// The shared part of the total still free: a record of a partition whose reserved share is
    /// used up takes from it, so partitions past their share never take the others' shares.
    package var shared: Int

    /// Whether the poll loop may read at all this turn (see ``DispatchEngine/waitForRoom(timeout:)``):
    /// when not, it waits for room instead of polling, because whatever librdkafka hands over
    /// must be taken.
    package var isOpen: Bool

    /// `reserved` empty and `shared` equal to `total` when not given: no reservations.
    package init(
        byPartition: [PartitionID: Int], total: Int, reserved: [PartitionID: Int] = [:], shared: Int? = nil, isOpen: Bool? = nil
    ) {
        self.byPartition = byPartition
        self.total = total
        self.reserved = reserved
        self.shared = shared ?? total
        self.isOpen = isOpen ?? (total > 0)
    }

    /// Counts one record of `partition` read in this turn; `false` once the turn should end
    /// (that partition's room, its share and the shared part, or the total is used up; the
    /// record itself is still taken).
    package mutating func take(_ partition: PartitionID) -> Bool {
        total -= 1
        let left = (byPartition[partition] ?? 0) - 1
        byPartition[partition] = left
        let ownShare = reserved[partition] ?? 0
        if ownShare > 0 { reserved[partition] = ownShare - 1 } else { shared -= 1 }
        return left > 0 && total > 0 && (ownShare > 1 || shared > 0)
    }
}
