import RetirementEvent

/// The dead-letter record as the contract defines it (docs/contract.md#dead-letter): the headers
/// the service adds to the original record, the owed-destinations list, and the reason labels
/// that `dlq list` and the `retirement_dead_letters_total` metric share.
package enum DeadLetterContract {
    /// Header names the service adds; the original record's own headers are kept as they are.
    package enum Header {
        /// Why: a bad-input `code: detail`, or `name: reason; …` per owed destination.
        package static let error = "x-retirement-error"
        /// The destinations that still owe the erasure, comma-separated; empty for bad input.
        package static let destinations = "x-retirement-destinations"
        package static let originalTopic = "x-original-topic"
        package static let originalPartition = "x-original-partition"
        package static let originalOffset = "x-original-offset"
        /// Attempts at the destination that failed most often.
        package static let attempts = "x-attempts"
        /// The original record's timestamp (milliseconds since the epoch), kept when a redrive
        /// writes the record again: the dead-letter record's own timestamp is the time of writing,
        /// from which the topic's retention counts.
        package static let originalTimestamp = "x-original-timestamp"
        /// Present when the original value could not be copied (too large for the topic): the
        /// original is read from its coordinates while the source topic retains it.
        package static let valueOmitted = "x-retirement-value-omitted"

        /// The headers that describe the dead-lettering itself, removed before a record is
        /// applied again (``valueOmitted`` stays: a record without its value keeps saying why).
        package static let describingTheDeadLettering: Set<String> = [
            error, destinations, originalTopic, originalPartition, originalOffset, attempts, originalTimestamp,
        ]
    }

    /// The reason label of records dead-lettered because destinations still owe the erasure.
    package static let destinationFailed = "destination_failed"

    /// `x-retirement-destinations` for these names: sorted, comma-separated.
    package static func owedList(_ names: [String]) -> String {
        names.sorted().joined(separator: ",")
    }

    /// The names in an `x-retirement-destinations` value (none when absent or empty).
    package static func owedNames(_ header: String?) -> [String] {
        (header ?? "").split(separator: ",").map(String.init)
    }

    /// The stable reason label of an `x-retirement-error` value: the bad-input code
    /// (`invalid_json`, `missing_field:email`, …), or ``destinationFailed``.
    package static func reasonLabel(ofError error: String) -> String {
        let head = error.split(separator: " ", maxSplits: 1).first.map(String.init) ?? error
        let code = head.hasSuffix(":") ? String(head.dropLast()) : head
        return BadInput.isCode(code) ? code : destinationFailed
    }
}
