/// Settings of the dispatch engine.
package struct DispatchConfiguration: Sendable {
    /// Events being applied at once, across partitions (`processing.max_in_flight`).
    package var maxInFlight: Int
    /// Events accepted and not done, per partition, before the partition is paused.
    package var maxBufferedPerPartition: Int
    /// Events accepted and not done across every partition (`processing.max_buffered`): at it,
    /// the poll loop stops reading until some are done (the backlog waits in librdkafka's queue,
    /// which is bounded by `queued.max.messages.kbytes`). The engine's memory is bounded by
    /// this, not by the number of partitions assigned.
    package var maxBufferedTotal: Int
    /// Offsets taken but not yet committable (from the oldest unfinished event to the newest
    /// taken), per partition, before the partition is paused: one stuck event must not let its
    /// partition run ahead without bound (`processing.max_uncommitted_per_partition`).
    package var maxUncommittedPerPartition: Int
    /// An unfinished event older than this is logged once at WARNING (`processing.stuck_event_warning`).
    package var stuckEventWarning: Duration
    /// How long ``maxBufferedTotal`` may stay reached before every partition is paused (until half
    /// of it is free), so the poll loop can poll again without being handed records.
    package var totalHoldAfter: Duration

    package init(
        maxInFlight: Int = 1000, maxBufferedPerPartition: Int? = nil, maxBufferedTotal: Int? = nil,
        maxUncommittedPerPartition: Int = 10_000,
        stuckEventWarning: Duration = .seconds(300), totalHoldAfter: Duration = .seconds(1)
    ) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxBufferedPerPartition = max(1, maxBufferedPerPartition ?? maxInFlight)
        self.maxBufferedTotal = max(1, maxBufferedTotal ?? 4 * self.maxInFlight)
        self.maxUncommittedPerPartition = max(1, maxUncommittedPerPartition)
        self.stuckEventWarning = stuckEventWarning
        self.totalHoldAfter = totalHoldAfter
    }
}
