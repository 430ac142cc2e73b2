import Engine
import RetirementEvent

/// A destination whose API takes one learner per call: implement ``erase(_:)`` for one event.
package protocol SingleEventDestination: Destination {
    /// Erases one learner; the reason must not contain personal data.
    func erase(_ event: RetirementEvent) async -> ErasureOutcome
}
