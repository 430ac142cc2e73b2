/// How one destination answered for one event.
package enum ErasureOutcome: Sendable, Equatable {
    /// The learner was erased (or the erasure was accepted); `jobID` is the vendor's job or
    /// request id when the vendor finishes later.
    case erased(jobID: String?)
    /// The destination does not know the learner: nothing to erase, counts as erased.
    case alreadyGone
    /// Worth retrying; `retryAfter` is the vendor's own wait signal when it sent one.
    case transient(reason: String, retryAfter: Duration?)
    /// Will not succeed by retrying: the event is dead-lettered for this destination.
    case permanent(reason: String)
    /// Credentials or settings refused: the destination stops, readiness turns false, its events
    /// wait uncommitted and it retries slowly; nothing is dead-lettered for it.
    case configurationError(reason: String)

    /// `erased` or `alreadyGone`.
    package var isSettled: Bool {
        switch self {
        case .erased, .alreadyGone: true
        default: false
        }
    }

    /// A short label for metrics and receipts.
    package var label: String {
        switch self {
        case .erased: "erased"
        case .alreadyGone: "already_gone"
        case .transient: "transient"
        case .permanent: "permanent"
        case .configurationError: "config_error"
        }
    }
}
