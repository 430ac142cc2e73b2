import Foundation

/// Unbuffered writes to the standard streams (Swift 6 forbids naming C's `stdout`).
package enum FileHandleWriter {
    package static func writeStderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    package static func writeStdout(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
