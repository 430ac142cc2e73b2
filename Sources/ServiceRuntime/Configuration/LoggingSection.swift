import ConfigFile
import Logging

extension ServiceConfiguration {
    /// `logging:` (docs/contract.md#config-logging).
    package struct LoggingSection: Sendable {
        package var level: Logger.Level
        package var format: LogFormat

        /// Reads `logging:` (an empty reader when the section is absent: every default).
        package init(reader l: SettingsReader) {
            level = l.choice("level", default: Logger.Level.info)
            format = l.choice("format", default: LogFormat.json)
            l.finish()
        }
    }
}
