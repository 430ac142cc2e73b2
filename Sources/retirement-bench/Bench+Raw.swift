import Foundation
import Kafka
import RetirementEvent
import ServiceRuntime
import Synchronization

/// Section 1, the raw ceiling: kcat, the project's `KafkaConsumer` and `run` with `noop` read the
/// same topic, in `rawRounds` rounds that interleave them (kcat, the wrapper in the group, the
/// wrapper without a group, then `run` with each binary, then `run` on encrypted events), so that
/// a slow spell of the machine hits every reader alike. Each row is the median of its rounds with
/// the spread (min–max) beside it; ratios are medians of the per-round ratios.
extension Bench {
    /// One reading: records and the seconds they took (CPU and memory for `run`).
    struct Reading {
        var events: Int
        var seconds: Double
        var cpuMicrosPerEvent: Double? = nil
        var peakRSSMB: Int? = nil
        var rate: Double { Double(events) / max(seconds, 1e-9) }
    }

    func raw() async throws -> [Row] {
        let n = options.rawEvents
        let topic = "raw"
        let partitions: Int32 = 12
        // The mock broker keeps at most 5 MB per partition: sealed values barely compress, so
        // their topic holds fewer events (CPU per event is what the row compares).
        let sealedCount = min(n, 150_000)
        say("raw: producing \(n) events (lz4, \(partitions) partitions), and \(sealedCount) encrypted ones")
        say("raw: produced in \(fmt(try cluster.fill(topic, partitions: partitions, count: n), 1)) s")
        let key = try Keyring.Key.generate(id: "bench", created: "2026-11-01T00:00:00Z")
        let keyringURL = directory.appendingPathComponent("bench-keyring.json")
        try Keyring(current: "bench", keys: [key]).json.write(to: keyringURL, atomically: true, encoding: .utf8)
        let sealedTopic = "raw-sealed"
        say("raw: sealed produced in \(fmt(try cluster.fill(sealedTopic, partitions: partitions, count: sealedCount, sealedWith: key), 1)) s")

        // The same consumer properties as `run` gets from this config.
        let config = RunConfig(topic: topic, group: "raw-service", processing: ["max_in_flight: 1000"])
        let path = try config.write(
            brokers: brokers, to: directory.appendingPathComponent("raw-wrapper.yaml"), extra: options.kafkaProperties,
            processing: options.processingSettings)
        let properties = try ServiceConfiguration.load(path: path, requireDestinations: false).consumerProperties(groupID: "raw-wrapper")

        var kcat: [Reading] = []
        var wrapper: [Reading] = []
        var assigned: [Reading] = []
        var service: [String: [Reading]] = [:]
        var sealed: [Reading] = []
        let main = binaries[binaries.count - 1]
        for round in 1...options.rawRounds {
            kcat.append(try readWithKcat(topic: topic, fetchWaitMs: properties["fetch.wait.max.ms"] ?? "100"))
            wrapper.append(try readWithWrapper(topic: topic, count: n, properties: properties, group: "raw-wrapper-r\(round)"))
            assigned.append(try readAssigned(topic: topic, count: n, partitions: partitions, properties: properties, group: "raw-assign-r\(round)"))
            for binary in binaries {
                let outcome = try runService(
                    "raw-service-r\(round)", binary: binary,
                    config: RunConfig(topic: topic, group: "raw-service-r\(round)", processing: ["max_in_flight: 1000"]),
                    partitions: partitions, target: Int64(n), timeout: 180)
                guard outcome.completed else { throw BenchError("raw: run\(binary.suffix) committed \(outcome.events) of \(n)") }
                service[binary.tag, default: []].append(reading(outcome))
            }
            // The same with every event sealed: decryption's share of the CPU (main binary).
            let sealedOutcome = try runService(
                "raw-sealed-r\(round)", binary: main,
                config: RunConfig(
                    topic: sealedTopic, group: "raw-sealed-r\(round)", processing: ["max_in_flight: 1000"],
                    encryption: "  keyring_file: \(keyringURL.path)\n  required: true"),
                partitions: partitions, target: Int64(sealedCount), timeout: 180)
            guard sealedOutcome.completed else { throw BenchError("raw: sealed run committed \(sealedOutcome.events) of \(sealedCount)") }
            sealed.append(reading(sealedOutcome))
            say(
                "raw: round \(round): kcat \(fmt(kcat[round - 1].rate)), wrapper \(fmt(wrapper[round - 1].rate)), no group \(fmt(assigned[round - 1].rate)), "
                    + binaries.map { "run\($0.suffix) \(fmt(service[$0.tag]![round - 1].rate))" }.joined(separator: ", ")
                    + ", sealed \(fmt(sealed[round - 1].rate)) ev/s")
        }

        let kcatRate = median(kcat.map(\.rate))
        let wrapperRatio = median(zip(wrapper, kcat).map { $0.rate / $1.rate })
        goals.record(
            .rawWrapper, baseline: false, figure: "\(fmt(median(wrapper.map(\.rate)))) / \(fmt(kcatRate)) = \(fmt(wrapperRatio, 2))",
            met: wrapperRatio >= 0.8)
        var rows = [
            row("kcat 1.7.1 (no group, whole process, librdkafka's default read-ahead)", kcat, reference: "", note: "whole process"),
            row("wrapper KafkaConsumer, no group (assign from 0)", assigned, reference: "", note: "from assign() to last message"),
            row(
                "wrapper KafkaConsumer in the group, nothing per message", wrapper, reference: "kcat \(fmt(kcatRate))", ratio: wrapperRatio,
                goal: "≥ 0.8", met: wrapperRatio >= 0.8, note: "from assignment to last message"),
        ]
        for binary in binaries {
            let runs = service[binary.tag] ?? []
            let ratio = median(zip(runs, kcat).map { $0.rate / $1.rate })
            let cpu = median(runs.compactMap(\.cpuMicrosPerEvent))
            goals.record(
                .rawRun, baseline: binary.isBaseline, figure: "\(fmt(median(runs.map(\.rate)))) / \(fmt(kcatRate)) = \(fmt(ratio, 2))", met: ratio >= 0.5)
            rows.append(
                row(
                    "run, noop destination, max_in_flight 1000\(binary.suffix)", runs, reference: "kcat \(fmt(kcatRate))", ratio: ratio, goal: "≥ 0.5",
                    met: ratio >= 0.5,
                    note:
                        "assignment to committed == high; CPU \(fmt(cpu, 1)) µs/event (\(spread(runs.compactMap(\.cpuMicrosPerEvent), 1))), peak RSS \(runs.compactMap(\.peakRSSMB).max() ?? 0) MB"
                ))
        }
        let plainCPU = median(service[main.tag]?.compactMap(\.cpuMicrosPerEvent) ?? [])
        let sealedCPU = median(sealed.compactMap(\.cpuMicrosPerEvent))
        rows.append(
            row(
                "run, noop, every event encrypted (encryption.required)", sealed, reference: "kcat \(fmt(kcatRate))",
                ratio: median(zip(sealed, kcat).map { $0.rate / $1.rate }), goal: "(decryption's share)",
                note:
                    "CPU \(fmt(sealedCPU, 1)) µs/event beside \(fmt(plainCPU, 1)) plain: decryption \(fmt(sealedCPU - plainCPU, 1)) µs = \(fmt(100 * (sealedCPU - plainCPU) / max(sealedCPU, 1e-9), 0)) % of it"
            ))
        return rows
    }

    /// A row whose figures are the median of `readings`, the spread in its note.
    func row(
        _ name: String, _ readings: [Reading], reference: String, ratio: Double? = nil, goal: String = "", met: Bool? = nil, note: String
    ) -> Row {
        Row(
            section: "1 raw", name: name, events: readings.first?.events ?? 0, seconds: median(readings.map(\.seconds)),
            rate: median(readings.map(\.rate)), reference: reference, ratio: ratio, goal: goal, met: met,
            note: "median of \(readings.count) runs, \(spread(readings.map(\.rate), 0)) ev/s; \(note)")
    }

    func reading(_ outcome: Outcome) -> Reading {
        Reading(events: Int(outcome.events), seconds: outcome.seconds, cpuMicrosPerEvent: cpuPerEvent(outcome), peakRSSMB: outcome.peakRSSKB / 1024)
    }

    /// The project's wrapper in a consumer group with `run`'s properties, reading in poll turns as
    /// `run` does, nothing per message; timed from the assignment to the last message.
    func readWithWrapper(topic: String, count n: Int, properties: [String: String], group: String) throws -> Reading {
        let assignedAt = Mutex<Double?>(nil)
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(properties.merging(["group.id": group]) { _, new in new }), logger: quietLogger("raw"),
            rebalanceHandler: { event in
                if case .assign = event { assignedAt.withLock { $0 = $0 ?? now() } }
            })
        try consumer.subscribe(topics: [topic])
        let (count, last) = try readAll(consumer, count: n)
        guard let start = assignedAt.withLock({ $0 }), count == n else { throw BenchError("raw wrapper read \(count) of \(n)") }
        return Reading(events: n, seconds: last - start)
    }

    /// The same wrapper without a group: every partition assigned from offset 0, as kcat does.
    func readAssigned(topic: String, count n: Int, partitions: Int32, properties: [String: String], group: String) throws -> Reading {
        let consumer = try KafkaConsumer(
            properties: KafkaProperties(properties.merging(["group.id": group, "enable.auto.commit": "false"]) { _, new in new }),
            logger: quietLogger("raw-assign"))
        let start = now()
        try consumer.assign((0..<partitions).map { TopicPartitionOffset(TopicPartition(topic: topic, partition: $0), offset: 0) })
        let (count, last) = try readAll(consumer, count: n)
        guard count == n else { throw BenchError("raw wrapper without a group read \(count) of \(n)") }
        return Reading(events: n, seconds: last - start)
    }

    /// Polls in turns of up to 512 records, as `run` reads, until `n` records or 180 s, then
    /// closes the consumer; returns the records read and when the last arrived.
    func readAll(_ consumer: KafkaConsumer, count n: Int) throws -> (count: Int, last: Double) {
        var count = 0
        var last = now()
        let deadline = now() + 180
        while count < n, now() < deadline {
            let read = try consumer.poll(maxMessages: 512, timeoutMs: 100) { _ in true }
            if read > 0 {
                count += read
                last = now()
            }
        }
        try? consumer.close()
        return (count, last)
    }

    /// kcat at its best: no group, librdkafka's own read-ahead (64 MB queue, 50 MB fetches), not
    /// `run`'s 1 MB (at which librdkafka 2.0.2 idles between fetches; our consumer wakes its
    /// fetchers, kcat does not). The whole process is timed.
    func readWithKcat(topic: String, fetchWaitMs: String) throws -> Reading {
        let start = now()
        let kcat = Process()
        kcat.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        kcat.arguments = ["-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\\n", "-X", "fetch.wait.max.ms=\(fetchWaitMs)"]
        let output = directory.appendingPathComponent("kcat.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        kcat.standardOutput = try FileHandle(forWritingTo: output)
        kcat.standardError = FileHandle.nullDevice
        try kcat.run()
        kcat.waitUntilExit()
        let seconds = now() - start
        var lines = 0
        for byte in (try? Data(contentsOf: output)) ?? Data() where byte == UInt8(ascii: "\n") { lines += 1 }
        return Reading(events: lines, seconds: seconds)
    }
}

/// The median (the mean of the middle two for an even count); 0 for none.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// `min–max` of `values`.
func spread(_ values: [Double], _ digits: Int) -> String {
    guard let low = values.min(), let high = values.max() else { return "-" }
    return "\(fmt(low, digits))–\(fmt(high, digits))"
}
