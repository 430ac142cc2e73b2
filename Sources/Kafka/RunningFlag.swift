import CRdKafka
import Foundation
import Logging

/// A thread-safe on/off flag for polling threads.
final class RunningFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }
}
