/// Per-partition committed offset, high watermark and lag of a consumer group.
package struct PartitionStatus: Sendable, Equatable {
    package var partition: Int32
    /// `nil` when the group has committed nothing for the partition.
    package var committed: Int64?
    package var low: Int64
    package var high: Int64

    /// Events not yet committed (from the low watermark when nothing is committed).
    package var lag: Int64 { high - max(committed ?? low, low) }
}
