import App
import Foundation
import Kafka
import Logging
import Synchronization

/// Wall-clock seconds (comparable with the `ts` of the service's JSON log lines).
func now() -> Double { Date().timeIntervalSince1970 }

func fmt(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}
