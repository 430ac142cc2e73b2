import Engine

/// A connection error or timeout, already classified as transient.
struct TransportFailure: Error {
    var outcome: ErasureOutcome
}
