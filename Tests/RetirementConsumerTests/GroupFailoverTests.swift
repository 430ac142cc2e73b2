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

        /// Two members; one gets SIGTERM mid-stream. It leaves the group in its close, so the other
        /// holds every partition sooner than a session timeout (6 s here) after the stopped one
        /// exited (without the leave the group waits for the session to expire, then rebalances).
        @Test func stoppedMemberLeavesAndTheOtherTakesItsPartitionsWithoutASessionTimeout() async throws {
            let harness = try await ProcessHarness(partitions: 4) { _, _ in .init(delay: .milliseconds(20)) }
            harness.processing = "  max_in_flight: 8"
            try await harness.produce(1...200)
            for _ in 0..<2 { try harness.startConsumer() }
            let both = await eventually(timeout: .seconds(60)) {
                harness.processes.allSatisfy { ScaleTests().lastAssignment($0.log)?.isEmpty == false }
            }
            #expect(both, "not both members got partitions\n\(harness.logs)")
            try await harness.produce(201...400)
            harness.processes[0].terminate()
            let (code, stacks) = await harness.waitForExit(harness.processes[0], deadline: .seconds(5 + 5 + 10))
            let exitedAt = ContinuousClock.now
            #expect(code == 0, "\(stacks)\n\(harness.logs)")
            #expect(harness.processes[0].log.contains("left the consumer group"), "\(harness.logs)")
            let takenOver = await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
                Set(ScaleTests().lastAssignment(harness.processes[1].log) ?? []) == Set(0..<4)
            }
            let after = (ContinuousClock.now - exitedAt).seconds
            #expect(takenOver, "the other member never got every partition\n\(harness.logs)")
            #expect(after < 6, "the other member got every partition \(after) s after the stopped one exited")
            figure("leave.seconds_from_exit_to_takeover", String(format: "%.2f", after))
            let done = await harness.waitUntilDone(Set(1...400), timeout: .seconds(90))
            #expect(done, "missing \(Set(1...400).subtracting(harness.webhook.erasedUserIDs).count)\n\(harness.logs)")
            _ = await harness.stopAll()
        }
    }
}
