import ArgumentParser
import ConfigFile
import Foundation
import Logging
import Metrics
import Prometheus
import RetirementEvent
import ServiceRuntime

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeStderr(string)
    }
}
