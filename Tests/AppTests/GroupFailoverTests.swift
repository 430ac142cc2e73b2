import ConfigFile
import Foundation
import TestSupport
import Testing

extension ProcessTests {
    /// 12 partitions, three members as separate processes; one is killed with SIGKILL mid-stream
    /// and replaced. Every event is erased at least once and the committed offsets reach the high
    /// watermarks on every partition.
    @Suite struct GroupFailoverTests {
        @Test func killedMemberIsReplacedAndNothingIsLost() async throws {
            let harness = try await ProcessHarness(partitions: 12) { _, _ in .init(delay: .milliseconds(5)) }
            harness.processing = "  max_in_flight: 50"
            try await harness.produce(1...300)
            for _ in 0..<3 { try harness.startConsumer() }
            let progressed = await eventually(timeout: .seconds(60)) { harness.webhook.erasedUserIDs.count >= 100 }
            #expect(progressed, "no progress\n\(harness.logs)")
            try await harness.produce(301...600)
            harness.processes[1].kill()
            try await Task.sleep(for: .milliseconds(500))
            try harness.startConsumer()
            try await harness.produce(601...900)
            let done = await harness.waitUntilDone(Set(1...900), timeout: .seconds(150))
            let missing = Set(1...900).subtracting(harness.webhook.erasedUserIDs)
            #expect(done, "missing \(missing.count) users; fully committed: \(harness.cluster.isFullyCommitted(groupID: harness.groupID))\n\(harness.logs)")
            #expect(harness.webhook.protocolViolations.isEmpty)
            figure("failover.events", "900")
            figure("failover.duplicates", "\(harness.webhook.duplicateErasures)")
            figure("failover.seconds", String(format: "%.1f", harness.elapsed))
            let codes = await harness.stopAll()
            #expect(codes[0] == 0 && codes[2] == 0 && codes[3] == 0, "exit codes \(codes)\n\(harness.logs)")
        }
    }
}
