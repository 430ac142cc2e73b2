/// Writes dead-letter records (docs/contract.md#dead-letter) and returns only once the write is acknowledged.
package protocol DeadLetterSink: Sendable {
    /// - Parameters:
    ///   - record: the original record (key, value and headers are kept as they are).
    ///   - reason: `x-retirement-error`; no personal data.
    ///   - owedDestinations: `x-retirement-destinations`; empty for bad input.
    ///   - attempts: `x-attempts`.
    func deadLetter(_ record: InboundRecord, reason: String, owedDestinations: [String], attempts: Int) async throws
}
