import Foundation
import ServiceRuntime

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeStderr(string)
    }
}
