import Logging

/// Chooses the process's log format and level; called once by each subcommand.
package enum LogSetup {
    package static func bootstrap(format: LogFormat, level logLevel: Logger.Level) {
        LoggingSystem.bootstrap { label in
            if format == .text {
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                return handler
            }
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
    }
}
