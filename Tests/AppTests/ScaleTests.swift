import Foundation
import Testing
import TestSupport

extension ProcessTests {
    /// 12 partitions: 1 → 3 → 6 members, then back to 2, with events flowing. Nothing is lost and
    /// every member gets partitions while it is in the group.
    @Suite struct ScaleTests {
        @Test func scaleOutAndInLosesNothing() async throws {
            let harness = try await ProcessHarness(partitions: 12) { _, _ in .init(delay: .milliseconds(20)) }
            harness.processing = "  max_in_flight: 30"
            try await harness.produce(1...200)
            try harness.startConsumer()
            #expect(await eventually(timeout: .seconds(60)) { harness.webhook.erasedUserIDs.count >= 50 })
            for _ in 0..<2 { try harness.startConsumer() }
            try await harness.produce(201...400)
            try await Task.sleep(for: .seconds(8))
            for _ in 0..<3 { try harness.startConsumer() }
            try await harness.produce(401...600)
            try await Task.sleep(for: .seconds(10))
            // Everyone in the group got partitions at 6 members.
            for (index, process) in harness.processes.enumerated() {
                #expect(assignedSomething(process.log), "member \(index) never got partitions\n\(process.log.suffix(3000))")
            }
            for index in [0, 1, 2, 3] { harness.processes[index].terminate() }
            try await harness.produce(601...800)
            let done = await harness.waitUntilDone(Set(1...800), timeout: .seconds(120))
            #expect(done, "missing \(Set(1...800).subtracting(harness.webhook.erasedUserIDs).count)\n\(harness.logs)")
            // The two left took over every partition.
            for index in [4, 5] {
                #expect(harness.processes[index].log.components(separatedBy: "partitions assigned").count >= 3)
            }
            figure("scale.events", "800")
            figure("scale.duplicates", "\(harness.webhook.duplicateErasures)")
            figure("scale.seconds", String(format: "%.1f", harness.elapsed))
            let codes = await harness.stopAll()
            #expect(codes.allSatisfy { $0 == 0 }, "exit codes \(codes)")
        }

        func assignedSomething(_ log: String) -> Bool {
            log.split(separator: "\n").contains { $0.contains("partitions assigned") && !$0.contains("\"partitions\":\"[]\"") }
        }
    }
}
