import Logging
import Synchronization

/// A `LogHandler` that keeps every line (message and metadata) for a test to search.
package final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    package init() {}

    /// Everything logged so far, one string per line.
    package var text: String { lines.withLock { $0.joined(separator: "\n") } }

    /// A logger at `level` writing here.
    package func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "captured") { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }
}
