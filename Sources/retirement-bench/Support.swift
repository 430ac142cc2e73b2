import Foundation
import Kafka
import Logging
import ServiceRuntime
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

/// The repository's root: the nearest directory holding `scripts/bench/webhook_server.py` above
/// the working directory or this executable (the working directory itself when none does).
func repositoryRoot() -> URL {
    let workingDirectory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    for start in [workingDirectory, executable.deletingLastPathComponent()] {
        var directory = start.standardizedFileURL
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("scripts/bench/webhook_server.py").path) { return directory }
            directory.deleteLastPathComponent()
        }
    }
    return workingDirectory
}
