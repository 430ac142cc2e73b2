import ConfigFile

extension ServiceConfiguration {
    /// `receipts:` (docs/contract.md#config-receipts).
    package struct ReceiptsSection: Sendable {
        /// Kafka topic for receipts (`nil`: none).
        package var topic: String?
        /// Also write each receipt as a log line.
        package var log: Bool

        /// Reads `receipts:` (an empty reader when the section is absent: every default).
        package init(reader r: SettingsReader) {
            topic = r.string("topic")
            log = r.bool("log", default: false)
            r.finish()
        }
    }
}
