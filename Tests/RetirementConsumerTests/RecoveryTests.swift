import Foundation
import OperatorTools
import ServiceRuntime
import TestSupport
import Testing

extension ProcessTests {
    /// `replay` and `dlq list` / `dlq redrive` against a running group, as separate processes.
    @Suite struct RecoveryTests {
        static let day: Int64 = 86_400_000
        static let t0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

        @Test func replayAppliesExactlyTheWindowToTheNamedDestinationOnly() async throws {
            let audit = try await WebhookServer(secret: "audit-secret-for-the-replay-tests-0123")
            defer { audit.stop() }
            let harness = try await ProcessHarness(partitions: 4)
            harness.more = """
                  - name: audit
                    type: webhook
                    url: "\(audit.url)"
                    secret: "audit-secret-for-the-replay-tests-0123"
                """
            harness.processing = "  max_in_flight: 20"
            for (band, users) in [(0, 1...30), (1, 31...60), (2, 61...90)] {
                try await SampleEvents.produce(users, to: harness.cluster.topic, with: harness.cluster.producer, timestamp: Self.t0 + Int64(band) * Self.day)
            }
            try harness.startConsumer()
            #expect(await harness.waitUntilDone(Set(1...90), timeout: .seconds(60)), "\(harness.logs)")
            #expect(await eventually(timeout: .seconds(10)) { audit.erasedUserIDs == Set(1...90) })
            let serviceOffsets = try harness.cluster.progress(groupID: harness.groupID).map(\.committed)
            let crmBefore = harness.webhook.requests.count
            let auditBefore = audit.requests.count
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path

            // Dry run: per partition start, end and count; nothing applied.
            let (dryCode, dryOut) = try await harness.runCommand(
                ["replay", "--config", config, "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-03T00:00:00Z", "--dry-run"],
                name: "replay-dry")
            #expect(dryCode == 0, "\(dryOut)")
            #expect(dryOut.contains("total in window: 30"), "\(dryOut)")
            #expect(audit.requests.count == auditBefore)

            // The replay, while the service keeps running.
            let (code, out) = try await harness.runCommand(
                ["replay", "--config", config, "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-03T00:00:00Z", "--destination", "audit"],
                name: "replay")
            #expect(code == 0, "\(out)")
            let replayed = audit.requests.dropFirst(auditBefore).map(\.userID)
            #expect(Set(replayed) == Set(31...60), "replayed \(Set(replayed).sorted())")
            #expect(replayed.count == 30)
            #expect(harness.webhook.requests.count == crmBefore, "crm was not named and must not be called")
            #expect(try harness.cluster.progress(groupID: harness.groupID).map(\.committed) == serviceOffsets)
            #expect(harness.processes[0].isRunning)

            // A duration back from now covers everything; an unknown destination is refused.
            let (badCode, badOut) = try await harness.runCommand(["replay", "--config", config, "--from", "30d", "--destination", "nope"], name: "replay-bad")
            #expect(badCode != 0)
            #expect(badOut.contains("unknown destination"))
            #expect(await harness.stopAll() == [0])
        }

        @Test func deadLettersAreListedAndRedrivenToTheDestinationsTheyOwe() async throws {
            let audit = try await WebhookServer(secret: "audit-secret-for-the-replay-tests-0123")
            defer { audit.stop() }
            let refuse = Unchecked(true)
            let harness = try await ProcessHarness(partitions: 4) { userID, _ in
                refuse.value && userID <= 10 ? .init(status: 400) : .init()
            }
            harness.more = """
                  - name: audit
                    type: webhook
                    url: "\(audit.url)"
                    secret: "audit-secret-for-the-replay-tests-0123"
                receipts:
                  topic: user-retirement.receipts
                  log: true
                """
            harness.processing = "  max_in_flight: 20"
            try await harness.produce(1...50)
            try harness.startConsumer()
            #expect(await harness.waitUntilDone(Set(11...50), timeout: .seconds(60)), "\(harness.logs)")
            #expect(await eventually(timeout: .seconds(10)) { audit.erasedUserIDs == Set(1...50) })
            #expect(await harness.stopAll() == [0])
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path

            // Receipts: one per event and destination, no personal data.
            let receipts = try harness.cluster.readAll(topic: "user-retirement.receipts")
            #expect(receipts.count >= 90, "receipts: \(receipts.count)")
            for receipt in receipts {
                let text = String(decoding: receipt.value ?? [], as: UTF8.self)
                #expect(!text.contains("@example.org") && !text.contains("learner"), "personal data in a receipt: \(text)")
            }
            let dead = receipts.filter { String(decoding: $0.value ?? [], as: UTF8.self).contains("\"dead_lettered\"") }
            #expect(dead.count == 10)

            let (listCode, listOut) = try await harness.runCommand(["dlq", "list", "--config", config], name: "dlq-list")
            #expect(listCode == 0, "\(listOut)")
            #expect(listOut.contains("destination_failed"), "\(listOut)")
            #expect(listOut.contains("records beyond the redrive position: 10"), "\(listOut)")
            #expect(!listOut.contains("learner"))

            refuse.value = false
            let crmBefore = harness.webhook.requests.count
            let (dryCode, dryOut) = try await harness.runCommand(["dlq", "redrive", "--config", config, "--dry-run"], name: "redrive-dry")
            #expect(dryCode == 0, "\(dryOut)")
            #expect(dryOut.contains("owed by crm: 10"), "\(dryOut)")
            #expect(harness.webhook.requests.count == crmBefore)

            let auditBefore = audit.requests.count
            let (code, out) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive")
            #expect(code == 0, "\(out)")
            #expect(out.contains("redriven 10"), "\(out)")
            #expect(Set(harness.webhook.requests.dropFirst(crmBefore).filter { $0.status == 200 }.map(\.userID)) == Set(1...10))
            #expect(audit.requests.count == auditBefore, "audit owed nothing")
            let dlqProgress = try harness.cluster.progress(groupID: "\(harness.groupID).dlq-redrive", topic: "user-retirement.dlq")
            #expect(dlqProgress.allSatisfy { $0.high == 0 || $0.committed == $0.high }, "\(dlqProgress)")

            // Drained: a second redrive reads nothing.
            let (againCode, againOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive-again")
            #expect(againCode == 0)
            #expect(againOut.contains("read 0 dead-letter records"), "\(againOut)")
        }

        /// A redrive of one destination must not commit past records that owe only others, nor
        /// past what fails again: both are dead-lettered again, and the exit status says so.
        @Test func partialRedriveCarriesForwardWhatItDoesNotSettle() async throws {
            let refuseAudit = Unchecked(true)
            let audit = try await WebhookServer(secret: "audit-secret-for-the-replay-tests-0123") { userID, _ in
                refuseAudit.value && userID <= 15 ? .init(status: 400) : .init()
            }
            defer { audit.stop() }
            let refuseCRM = Unchecked(true)
            let harness = try await ProcessHarness(partitions: 4) { userID, _ in
                refuseCRM.value && userID <= 10 ? .init(status: 400) : .init()
            }
            harness.more = """
                  - name: audit
                    type: webhook
                    url: "\(audit.url)"
                    secret: "audit-secret-for-the-replay-tests-0123"
                """
            harness.processing = "  max_in_flight: 20"
            try await harness.produce(1...30)
            try harness.startConsumer()
            // Users 1-10 owe audit and crm; 11-15 owe audit only.
            #expect(await harness.waitUntilDone(Set(11...30), timeout: .seconds(60)), "\(harness.logs)")
            #expect(await harness.stopAll() == [0])
            let config = harness.directory.appendingPathComponent("consumer-0.yaml").path

            // crm is fixed, audit is not: redrive crm only.
            refuseCRM.value = false
            let crmBefore = harness.webhook.requests.count
            let auditBefore = audit.requests.count
            let (code, out) = try await harness.runCommand(["dlq", "redrive", "--config", config, "--destination", "crm"], name: "redrive-crm")
            #expect(code == 0, "\(out)")
            #expect(out.contains("carried forward, not selected: audit: 15"), "\(out)")
            #expect(Set(harness.webhook.requests.dropFirst(crmBefore).filter { $0.status == 200 }.map(\.userID)) == Set(1...10))
            #expect(audit.requests.count == auditBefore, "audit was not selected")

            // What is still owed beyond the redrive position: audit for 15 learners, crm for none.
            let (listCode, listOut) = try await harness.runCommand(["dlq", "list", "--config", config], name: "list-1")
            #expect(listCode == 0, "\(listOut)")
            #expect(listOut.contains("records beyond the redrive position: 15"), "\(listOut)")
            #expect(!listOut.contains(" crm "), "\(listOut)")

            // audit still refuses: nothing is lost, the exit status is 1 with the counts.
            let (failCode, failOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive-fail")
            #expect(failCode == 1, "\(failOut)")
            #expect(failOut.contains("still owed by audit: 15"), "\(failOut)")

            // audit fixed: every learner it owed is erased there, crm is not called again.
            refuseAudit.value = false
            let crmAfter = harness.webhook.requests.count
            let auditNow = audit.requests.count
            let (okCode, okOut) = try await harness.runCommand(["dlq", "redrive", "--config", config], name: "redrive-ok")
            #expect(okCode == 0, "\(okOut)")
            #expect(Set(audit.requests.dropFirst(auditNow).filter { $0.status == 200 }.map(\.userID)) == Set(1...15))
            #expect(harness.webhook.requests.count == crmAfter)
            let (lastCode, lastOut) = try await harness.runCommand(["dlq", "list", "--config", config], name: "list-2")
            #expect(lastCode == 0)
            #expect(lastOut.contains("records beyond the redrive position: 0"), "\(lastOut)")
        }
    }
}
