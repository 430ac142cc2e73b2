/// Proof that one destination settled one event, without the learner's email or name.
public struct ErasureReceipt: Sendable, Equatable {
    /// What the destination did, as the receipt's `outcome` field says it.
    public enum Outcome: String, Sendable {
        case erased
        case alreadyGone = "already_gone"
        case deadLettered = "dead_lettered"
    }

    public var eventID: String
    public var userID: Int64
    public var destination: String
    public var outcome: Outcome
    public var jobID: String?
    /// Seconds since the epoch.
    public var time: Double
    public var attempts: Int

    public init(eventID: String, userID: Int64, destination: String, outcome: Outcome, jobID: String?, time: Double, attempts: Int) {
        self.eventID = eventID
        self.userID = userID
        self.destination = destination
        self.outcome = outcome
        self.jobID = jobID
        self.time = time
        self.attempts = attempts
    }
}

/// Receives receipts; implementations write them to a Kafka topic and/or the log.
public protocol ReceiptSink: Sendable {
    /// Takes the receipt without waiting for it to be written: a receipt never holds an erasure back.
    func record(_ receipt: ErasureReceipt)
}
