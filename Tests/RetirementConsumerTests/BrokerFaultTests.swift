import Foundation
import Kafka
import TestSupport
import Testing

extension ProcessTests {
    /// The broker goes down and comes back, and offset commits fail for a while: nothing is lost.
    @Suite struct BrokerFaultTests {
        @Test func brokerDownAndFailingCommitsLoseNothing() async throws {
            let harness = try await ProcessHarness(partitions: 4) { _, _ in .init(delay: .milliseconds(10)) }
            harness.processing = "  max_in_flight: 20"
            try await harness.produce(1...150)
            try harness.startConsumer()
            let progressed = await eventually(timeout: .seconds(60)) { harness.webhook.erasedUserIDs.count >= 30 }
            #expect(progressed, "no progress\n\(harness.logs)")
            harness.cluster.cluster.setBrokerDown()
            try await Task.sleep(for: .seconds(4))
            harness.cluster.cluster.setBrokerUp()
            // Commits now fail for a while with retriable and non-retriable broker errors.
            harness.cluster.cluster.pushRequestErrors(
                .offsetCommit,
                errors: Array(repeating: KafkaError.Code.requestTimedOut, count: 5)
                    + Array(repeating: KafkaError.Code.coordinatorNotAvailable, count: 5))
            try await harness.produce(151...300)
            let done = await harness.waitUntilDone(Set(1...300), timeout: .seconds(120))
            #expect(done, "missing \(Set(1...300).subtracting(harness.webhook.erasedUserIDs).count)\n\(harness.logs)")
            figure("brokerfault.events", "300")
            figure("brokerfault.duplicates", "\(harness.webhook.duplicateErasures)")
            figure("brokerfault.seconds", String(format: "%.1f", harness.elapsed))
            let codes = await harness.stopAll()
            #expect(codes == [0], "exit codes \(codes)\n\(harness.logs)")
        }

        /// Every broker down, then SIGTERM while partitions pause and resume (a small per-partition
        /// buffer, a slow webhook): the process exits within `shutdown_grace` + `commit_timeout`
        /// + 10 s, whatever librdkafka waits for, and a member started after the brokers are back
        /// erases and commits everything (nothing committed past unfinished work).
        @Test func brokersDownAndSigtermExitWithinTheStopBudgetAndARestartLosesNothing() async throws {
            let harness = try await ProcessHarness(partitions: 4) { _, _ in .init(delay: .milliseconds(300)) }
            harness.processing = """
                  max_in_flight: 4
                  max_buffered_per_partition: 4
                  commit_timeout: 3s
                """
            try await harness.produce(1...200)
            let first = try harness.startConsumer()
            let progressed = await eventually(timeout: .seconds(60)) { harness.webhook.erasedUserIDs.count >= 20 }
            #expect(progressed, "no progress\n\(harness.logs)")
            harness.cluster.cluster.setBrokerDown()
            try await Task.sleep(for: .seconds(4))
            let stopAt = ContinuousClock.now
            first.terminate()
            let budget = 5.0 + 3.0 + 10.0
            let (code, stacks) = await harness.waitForExit(first, deadline: .seconds(budget))
            let took = (ContinuousClock.now - stopAt).seconds
            #expect(code != nil, "still running \(Int(budget)) s after SIGTERM\n\(stacks)\n\(harness.logs)")
            figure("brokers_down_stop.seconds_to_exit", String(format: "%.2f", took))
            harness.cluster.cluster.setBrokerUp()
            try harness.startConsumer()
            let done = await harness.waitUntilDone(Set(1...200), timeout: .seconds(120))
            #expect(done, "missing \(Set(1...200).subtracting(harness.webhook.erasedUserIDs).count)\n\(harness.logs)")
            figure("brokers_down_stop.duplicates", "\(harness.webhook.duplicateErasures)")
            _ = await harness.stopAll()
        }
    }
}
