import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"ts":"…","level":"info","logger":"…","msg":"…", …metadata}`.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    private let label: String
    private static let lock = Mutex(())

    package init(label: String) {
        self.label = label
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        if let extra = event.metadata {
            for (key, value) in extra { fields[key] = "\(value)" }
        }
        var line =
            "{\"ts\":\"\(JSONLogHandler.timestamp())\",\"level\":\"\(event.level)\",\"logger\":\(JSONLogHandler.quote(label)),\"msg\":\(JSONLogHandler.quote("\(event.message)"))"
        for key in fields.keys.sorted() {
            line += ",\(JSONLogHandler.quote(key)):\(JSONLogHandler.quote(fields[key]!))"
        }
        line += "}\n"
        JSONLogHandler.lock.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var time = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &time)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday, time.tm_hour,
            time.tm_min, time.tm_sec, spec.tv_nsec / 1_000_000)
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
