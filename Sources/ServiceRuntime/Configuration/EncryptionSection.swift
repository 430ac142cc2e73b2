import ConfigFile
import RetirementEvent

extension ServiceConfiguration {
    /// `encryption:` (docs/contract.md#config-encryption, docs/encryption.md).
    package struct EncryptionSection: Sendable {
        /// Decrypts encrypted events (`keyring`, `keyring_file` or `keyring_env`); `nil`: none configured.
        package var keyring: Keyring?
        /// The longest time an event can stay in the topics (the dead-letter topic's retention):
        /// a key older than this is reported by `keys check` and at start-up.
        package var longestRetention: Duration = Self.defaultLongestRetention
        /// `required`: plain events are refused as `not_encrypted` (needs a keyring).
        package var required = false
        /// A keyring was given (even one that could not be read or resolved: that is reported at
        /// the key), for ``ServiceConfiguration/validate(_:)``.
        var keyringGiven = false

        /// `longest_retention`'s default: 30 days.
        package static let defaultLongestRetention: Duration = .seconds(30 * 86_400)

        /// Every default: no keyring.
        package init() {}

        /// Reads `encryption:`; an absent section is ``init()``.
        package init(reader: SettingsReader?) {
            guard let reader else { return }
            keyringGiven = reader.has("keyring")
            if let text = reader.string("keyring"), text != ConfigValue.unresolvedText {
                do {
                    keyring = try Keyring.parse(text)
                } catch {
                    reader.problems.add(reader.keyPath("keyring"), error.description)
                }
            }
            longestRetention = reader.duration("longest_retention", default: Self.defaultLongestRetention, minimum: .seconds(3600))
            required = reader.bool("required", default: false)
            reader.finish()
        }
    }
}
