/// How the work of one record began: finished already (nothing it did had to wait), or with the
/// rest still to do, which may wait (a network call, a retry's backoff, a dead-letter write).
///
/// The engine runs the start of many records in one task and settles the finished ones together
/// under one lock; only a record whose work must wait gets a task of its own (see
/// ``DispatchEngine``).
package enum WorkStart: Sendable {
    /// The record is done.
    case finished(EventResult)
    /// The rest of the work; the engine runs it in a task of its own and honours its cancellation.
    case waits(@Sendable () async -> EventResult)
}
