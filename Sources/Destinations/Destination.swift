import Engine
import RetirementEvent

/// An external system a learner is erased from. A new system is one type implementing this
/// protocol plus one line in ``DestinationRegistry``.
package protocol Destination: Sendable {
    /// The configured name.
    var name: String { get }
    /// The most events one ``erase(_:)`` call takes; 1 when the API takes one learner per call.
    var maxBatchSize: Int { get }
    /// Erases a batch (at most ``maxBatchSize`` events) and answers one outcome per event, in order.
    /// Outcomes and their reasons must not contain personal data.
    func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome]
    /// Proves the settings and credentials with a harmless call where the API offers one;
    /// returns one message per problem (empty when fine).
    func check() async -> [String]
    /// Releases clients and connections.
    func shutdown() async
    /// Whether a call can outlast its deadline (network or database I/O). A destination that
    /// answers in process without waiting on anything says `false`, and its calls skip the
    /// deadline machinery (a task and a watched deadline per call).
    var canHang: Bool { get }
}

/// A destination that answers in process, without waiting on anything (no I/O): the pipeline
/// calls it on the caller's thread when no limit makes the call wait (see
/// ``DestinationPipeline/applyImmediately(_:)``).
package protocol ImmediateDestination: Destination {
    /// Erases a batch at once and answers one outcome per event, in order.
    func eraseImmediately(_ events: [RetirementEvent]) -> [ErasureOutcome]
}

extension Destination {
    package var maxBatchSize: Int { 1 }
    package var canHang: Bool { true }
    package func shutdown() async {}
}

extension SingleEventDestination {
    package var maxBatchSize: Int { 1 }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        var outcomes: [ErasureOutcome] = []
        for event in events { outcomes.append(await erase(event)) }
        return outcomes
    }
}
