/// What the configured `encryption:` section makes of plain events, as `check` and the start-up
/// log state it (docs/encryption.md).
package enum EncryptionMode: String, Sendable {
    /// No keyring: plain events are applied, encrypted ones are `key_unavailable`.
    case off
    /// A keyring, `required: false`: encrypted events are decrypted, plain events still applied.
    case optional
    /// `required: true`: only events sealed under the keyring are applied.
    case required

    package init(_ section: ServiceConfiguration.EncryptionSection) {
        if section.required {
            self = .required
        } else {
            self = section.keyring == nil ? .off : .optional
        }
    }

    /// One line for `check`.
    package var description: String {
        switch self {
        case .off: "off (no keyring): plain events are applied; anyone who can write to the topic can order an erasure"
        case .optional:
            "optional (keyring, required: false): encrypted events are decrypted; plain events are still applied (set encryption.required: true once every producer encrypts)"
        case .required: "required: only events sealed under the keyring are applied; plain events are dead-lettered as not_encrypted"
        }
    }
}
