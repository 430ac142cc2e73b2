/// What the engine can take before it would pause a partition, read by the poll loop once per
/// poll turn: the turn ends at the record that fills a partition's room or the total, so the
/// pause is applied before librdkafka hands over more, as with one record per turn.
package struct IntakeRoom: Sendable {
    /// Per assigned partition; a partition not listed (not assigned) has no room.
    package var byPartition: [PartitionID: Int]
    /// Across every partition.
    package var total: Int

    package init(byPartition: [PartitionID: Int], total: Int) {
        self.byPartition = byPartition
        self.total = total
    }

    /// Counts one record of `partition` read in this turn; `false` once the turn should end
    /// (that partition's room or the total is used up; the record itself is still taken).
    package mutating func take(_ partition: PartitionID) -> Bool {
        total -= 1
        let left = (byPartition[partition] ?? 0) - 1
        byPartition[partition] = left
        return left > 0 && total > 0
    }
}
