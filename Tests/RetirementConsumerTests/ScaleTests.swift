import Foundation
import TestSupport
import Testing

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
            let three = await eventually(timeout: .seconds(90)) { harness.processes.allSatisfy { lastAssignment($0.log)?.isEmpty == false } }
            #expect(three, "not every one of 3 members got partitions\n\(harness.logs)")

            for _ in 0..<3 { try harness.startConsumer() }
            try await harness.produce(401...600)
            let six = await eventually(timeout: .seconds(120)) {
                let assignments = harness.processes.map { lastAssignment($0.log) }
                // Six members, each with some of the 12 partitions, none held twice.
                let all = assignments.compactMap { $0 }.flatMap { $0 }
                return assignments.allSatisfy { $0?.isEmpty == false } && all.count == 12 && Set(all).count == 12
            }
            #expect(six, "not every one of 6 members got partitions\n\(harness.logs)")

            for index in [0, 1, 2, 3] { harness.processes[index].terminate() }
            for index in [0, 1, 2, 3] {
                // A member still running past its stop budget has its threads' stacks dumped.
                let (code, stacks) = await harness.waitForExit(harness.processes[index], deadline: .seconds(30))
                #expect(code == 0, "member \(index) exit \(String(describing: code))\n\(stacks)\n\(harness.logs)")
            }
            try await harness.produce(601...800)
            let done = await harness.waitUntilDone(Set(1...800), timeout: .seconds(120))
            #expect(done, "missing \(Set(1...800).subtracting(harness.webhook.erasedUserIDs).count)\n\(harness.logs)")
            // The two left hold every partition between them.
            let remaining = [4, 5].compactMap { lastAssignment(harness.processes[$0].log) }.flatMap { $0 }
            #expect(Set(remaining) == Set(0..<12), "the two left hold \(remaining.sorted())")
            figure("scale.events", "800")
            figure("scale.duplicates", "\(harness.webhook.duplicateErasures)")
            figure("scale.seconds", String(format: "%.1f", harness.elapsed))
            let codes = await harness.stopAll()
            let failed = zip(codes, harness.processes).enumerated().filter { $0.element.0 != 0 }
            let why = failed.map { "--- member \($0.offset) ---\n\(harness.crashLines($0.element.1.log))" }.joined(separator: "\n")
            #expect(codes.allSatisfy { $0 == 0 }, "exit codes \(codes)\n\(why)")
        }

        /// The partitions of the last "partitions assigned" log line (eager protocol: the whole assignment).
        func lastAssignment(_ log: String) -> [Int]? {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("\"msg\":\"partitions assigned\"") }),
                let start = line.range(of: "\"partitions\":\"["), let end = line[start.upperBound...].range(of: "]")
            else { return nil }
            return line[start.upperBound..<end.lowerBound].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
    }
}
