import ConfigFile
import Foundation
import Kafka
import TestSupport
import Testing

extension ProcessTests {
    /// SIGTERM mid-stream: exit 0 within the grace period, and nothing committed that was not erased.
    @Suite struct ShutdownTests {
        @Test func sigtermDrainsCommitsOnlyErasedWorkAndExitsZero() async throws {
            let harness = try await ProcessHarness(partitions: 4) { _, _ in .init(delay: .milliseconds(300)) }
            harness.processing = "  max_in_flight: 10"
            let placed = try await harness.produce(1...300)
            let consumer = try harness.startConsumer()
            let progressed = await eventually(timeout: .seconds(60)) { harness.webhook.erasedUserIDs.count >= 30 }
            #expect(progressed, "\(harness.logs)")
            let stopAt = ContinuousClock.now
            consumer.terminate()
            let code = await consumer.waitForExit(timeout: .seconds(20))
            let took = (ContinuousClock.now - stopAt).seconds
            #expect(code == 0, "\(harness.logs)")
            #expect(took < 5 + 3, "took \(took) s with a 5 s grace")
            figure("shutdown.seconds_to_exit", String(format: "%.2f", took))
            #expect(consumer.log.contains("left the consumer group"))
            // Every record below a committed offset was erased.
            let erased = harness.webhook.erasedUserIDs
            var committedTotal: Int64 = 0
            for row in try harness.cluster.progress(groupID: harness.groupID) where row.committed > 0 {
                committedTotal += row.committed
                let below = placed.filter { $0.value.topicPartition.partition == row.partition && $0.value.offset < row.committed }
                let notErased = below.keys.filter { !erased.contains($0) }
                #expect(notErased.isEmpty, "partition \(row.partition) committed \(row.committed) past un-erased users \(notErased.sorted())")
            }
            #expect(committedTotal > 0)
            #expect(committedTotal < 300, "stopped mid-stream")
            figure("shutdown.committed_of_300", "\(committedTotal)")
        }
    }
}
