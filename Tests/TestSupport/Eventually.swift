import Foundation
import OperatorTools

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
package func eventually(
    timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// A port that was free a moment ago on 127.0.0.1.
package func freePort() -> Int {
    LocalPort.free()!
}

/// A scratch directory removed by the caller.
package func makeTemporaryDirectory() -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rc-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
