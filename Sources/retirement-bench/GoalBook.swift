import Synchronization

/// Issue 13's goals (and issue 21's batched webhook), one line each, filled in by the sections for the main binary and the baseline.
final class GoalBook: Sendable {
    /// One goal of issue 13, in the order of the printed table.
    enum Measure: CaseIterable {
        case rawWrapper, rawRun, latency, latencyCPU, batchedWebhookCPU, batchRate, batchIDs, memoryDefaults, memory, peer

        var title: String {
            switch self {
            case .rawWrapper: "raw: wrapper KafkaConsumer in the group / kcat"
            case .rawRun: "raw: `run` with `noop` / kcat"
            case .latency: "latency-bound: events/s / (in_flight / 50 ms), every row"
            case .latencyCPU: "latency-bound: `run`'s CPU per event, 12 partitions × 256 in flight"
            case .batchedWebhookCPU: "batched webhook (batch_size 64): `run`'s CPU per event, 12 × 256, rate ≥ 0.9 of ideal"
            case .batchRate: "batching (braze): events/s / 16,000"
            case .batchIDs: "batching (braze): external ids per call"
            case .memoryDefaults: "memory at the defaults: peak RSS, 1M backlog into the 50 ms webhook, nothing set"
            case .memory: "memory: peak RSS, 1M backlog into the 50 ms webhook, 1,024 in flight and connections"
            case .peer: "peer: `run` / the event-bus-style peer, same topic and webhook"
            }
        }

        var goal: String {
            switch self {
            case .rawWrapper: "≥ 0.8"
            case .rawRun: "≥ 0.5"
            case .latency: "≥ 0.9"
            case .latencyCPU: "≤ 50 µs"
            case .batchedWebhookCPU: "≤ 50 µs"
            case .batchRate: "≥ 0.9"
            case .batchIDs: "≥ 48"
            case .memoryDefaults: "≤ 100 MB, events/s not lower"
            case .memory: "≤ 100 MB"
            case .peer: "≥ 50×"
            }
        }
    }

    private struct Entry {
        var figure: String
        var met: Bool
    }

    private let entries = Mutex<[String: Entry]>([:])

    func record(_ measure: Measure, baseline: Bool, figure: String, met: Bool) {
        entries.withLock { $0["\(measure)/\(baseline)"] = Entry(figure: figure, met: met) }
    }

    /// The Markdown table; with a baseline, its figures (and whether they met the goal) in a column of their own.
    func markdown(withBaseline: Bool) -> String {
        let entries = entries.withLock { $0 }
        var lines =
            withBaseline
            ? ["| measure | figure | baseline | goal | met |", "|---|---|---|---|---|"]
            : ["| measure | figure | goal | met |", "|---|---|---|---|"]
        for measure in Measure.allCases {
            let main = entries["\(measure)/false"]
            var cells = [measure.title, main?.figure ?? "(not run)"]
            if withBaseline {
                // The wrapper/kcat figure is the bench's own, the same for both binaries.
                cells.append(entries["\(measure)/true"].map { "\($0.figure) (\($0.met ? "met" : "not met"))" } ?? (main == nil ? "(not run)" : "—"))
            }
            cells += [measure.goal, main.map { $0.met ? "yes" : "no" } ?? ""]
            lines.append("| \(cells.joined(separator: " | ")) |")
        }
        return lines.joined(separator: "\n")
    }
}
