import AsyncHTTPClient
import ServiceRuntime
import TestSupport
import Testing

extension ProcessTests {
    /// `/metrics` scraped during a run with the counters moving; `/readyz` false while the webhook
    /// refuses the credentials, and true again once it accepts them, without a restart and without
    /// dead-lettering anything.
    @Suite struct ObservabilityTests {
        func get(_ url: String) async throws -> (Int, String) {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 22)
            return (Int(response.status.code), String(buffer: body))
        }

        func metric(_ text: String, _ name: String) -> Double {
            text.split(separator: "\n").filter { $0.hasPrefix(name) }.compactMap { line in
                line.split(separator: " ").last.flatMap { Double($0) }
            }.reduce(0, +)
        }

        @Test func metricsMoveAndReadinessFollowsConfigurationErrors() async throws {
            let refuse = Unchecked(false)
            let harness = try await ProcessHarness(partitions: 4) { _, _ in
                refuse.value ? .init(status: 401) : .init(delay: .milliseconds(20))
            }
            harness.processing = "  max_in_flight: 10\n  configuration_error_retry_interval: 300ms"
            try await harness.produce(1...100)
            try harness.startConsumer()
            let base = "http://127.0.0.1:\(harness.httpPorts[0])"
            let ready = await eventually(timeout: .seconds(60)) { (try? await get("\(base)/readyz").0) == 200 }
            #expect(ready, "\(harness.logs)")
            #expect(try await get("\(base)/healthz").0 == 200)
            let done = await harness.waitUntilDone(Set(1...100), timeout: .seconds(60))
            #expect(done)
            let (status, first) = try await get("\(base)/metrics")
            #expect(status == 200)
            let consumedBefore = metric(first, "retirement_events_consumed_total")
            #expect(consumedBefore >= 100)
            #expect(metric(first, "retirement_destination_outcomes_total{destination=\"crm\",outcome=\"erased\"}") >= 100)
            #expect(first.contains("retirement_destination_latency_seconds_bucket"))
            #expect(first.contains("retirement_partitions_assigned"))
            #expect(first.contains("retirement_rebalances_total{kind=\"assign\"}"))
            let lagSeen = await eventually(timeout: .seconds(10)) {
                (try? await get("\(base)/metrics").1.contains("retirement_partition_lag{")) == true
            }
            #expect(lagSeen)
            for line in first.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(!line.contains("learner"), "personal data in a metric: \(line)")
            }

            // Credentials refused: readiness drops, events wait, nothing is dead-lettered.
            refuse.value = true
            try await harness.produce(101...120)
            let notReady = await eventually(timeout: .seconds(30)) { (try? await get("\(base)/readyz").0) == 503 }
            #expect(notReady)
            let (_, reason) = try await get("\(base)/readyz")
            #expect(reason.contains("destination crm in configuration error"))
            let (_, during) = try await get("\(base)/metrics")
            #expect(metric(during, "retirement_events_consumed_total") > consumedBefore)
            #expect(during.contains("retirement_destination_ready{destination=\"crm\"} 0"))
            #expect(!harness.cluster.isFullyCommitted(groupID: harness.groupID))

            // Fixed credentials: work resumes without a restart.
            refuse.value = false
            let recovered = await harness.waitUntilDone(Set(1...120), timeout: .seconds(60))
            #expect(recovered, "\(harness.logs)")
            let readyAgain = await eventually(timeout: .seconds(10)) { (try? await get("\(base)/readyz").0) == 200 }
            #expect(readyAgain)
            #expect(try harness.cluster.readAll(topic: "\(harness.cluster.topic).dlq").isEmpty)
            #expect(await harness.stopAll() == [0])
            #expect(!harness.processes[0].log.contains("learner"), "personal data in the logs")
        }
    }
}
