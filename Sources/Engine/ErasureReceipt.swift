/// Proof that one destination settled one event, without the learner's email or name.
package struct ErasureReceipt: Sendable, Equatable {
    /// What the destination did, as the receipt's `outcome` field says it.
    package enum Outcome: String, Sendable {
        case erased
        case alreadyGone = "already_gone"
        case deadLettered = "dead_lettered"
    }

    package var eventID: String
    package var userID: Int64
    package var destination: String
    package var outcome: Outcome
    package var jobID: String?
    /// Seconds since the epoch.
    package var time: Double
    package var attempts: Int

    package init(eventID: String, userID: Int64, destination: String, outcome: Outcome, jobID: String?, time: Double, attempts: Int) {
        self.eventID = eventID
        self.userID = userID
        self.destination = destination
        self.outcome = outcome
        self.jobID = jobID
        self.time = time
        self.attempts = attempts
    }
}
