/// One learner's retirement, as published on Kafka (docs/contract.md#event, v1).
///
/// It carries personal data (`username`, `email`, `fullName`): never log it; log ``userID`` or
/// ``eventID`` instead.
package struct RetirementEvent: Sendable, Equatable {
    /// The CloudEvents type of v1 events.
    package static let eventType = "org.openedx.learning.user.retirement.requested.v1"

    /// `ce_id`: deterministic for one retirement; used as the idempotency key downstream.
    package var eventID: String
    /// `ce_source`, e.g. `openedx/lms/lms.example.org`, when present.
    package var source: String?
    /// `ce_time` as published, when present.
    package var time: String?
    /// The LMS user id (`auth_user.id`).
    package var userID: Int64
    /// The original username.
    package var username: String
    /// The original email address.
    package var email: String
    package var fullName: String?
    package var retiredUsername: String?
    package var retiredEmail: String?
    package var retirementID: Int64?
    /// When the learner asked for deletion (RFC 3339), as published.
    package var requestedAt: String?
    /// Whether the personal fields arrived in an `encrypted` envelope (false: in clear).
    package var wasEncrypted: Bool

    package init(
        eventID: String, source: String? = nil, time: String? = nil, userID: Int64, username: String, email: String,
        fullName: String? = nil, retiredUsername: String? = nil, retiredEmail: String? = nil,
        retirementID: Int64? = nil, requestedAt: String? = nil, wasEncrypted: Bool = false
    ) {
        self.eventID = eventID
        self.source = source
        self.time = time
        self.userID = userID
        self.username = username
        self.email = email
        self.fullName = fullName
        self.retiredUsername = retiredUsername
        self.retiredEmail = retiredEmail
        self.retirementID = retirementID
        self.requestedAt = requestedAt
        self.wasEncrypted = wasEncrypted
    }
}

extension RetirementEvent: CustomStringConvertible {
    /// Only identifiers, never personal data.
    package var description: String { "RetirementEvent(user_id: \(userID), event_id: \(eventID))" }
}
