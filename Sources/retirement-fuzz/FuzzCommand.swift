import ArgumentParser
import ConfigFile
import Foundation
import RetirementEvent
import ServiceRuntime

/// Seeded random fuzzing of the event decoder and the configuration loader: mutations of seed
/// inputs (the shared vectors, the README's configuration examples), a fixed number of runs, a
/// deadline per input. A crash ends the process (non-zero exit); an input over the deadline is a
/// hang and fails the run. `scripts/fuzz.sh` runs it (and libFuzzer on the decoder).
@main
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retirement-fuzz", abstract: "Seeded random fuzzing of the event decoder and the configuration loader.")

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case decoder, config
    }

    @Argument(help: "What to fuzz: decoder or config.") var target: Target
    @Option(help: "Inputs to run.") var runs = 10_000
    @Option(help: "Random seed (the same seed runs the same inputs).") var seed: UInt64 = 1
    @Option(help: "Seed inputs: a JSON file of shared vectors (decoder) or a directory of YAML files (config).")
    var corpus: String
    @Option(help: "An input taking longer than this many milliseconds counts as a hang.") var hangMs = 1000

    func run() throws {
        var random = SplitMix64(seed: seed)
        let seeds = try loadSeeds()
        guard !seeds.isEmpty else { throw ValidationError("no seed inputs in \(corpus)") }
        var slowest = Duration.zero
        var outcomes: [String: Int] = [:]
        for index in 0..<runs {
            let input = Mutator.mutate(seeds[Int(random.next() % UInt64(seeds.count))], using: &random)
            let started = ContinuousClock.now
            let outcome = target == .decoder ? Self.decode(input) : Self.loadConfig(input)
            let took = ContinuousClock.now - started
            slowest = max(slowest, took)
            outcomes[outcome, default: 0] += 1
            if took > .milliseconds(hangMs) {
                FileHandle.standardError.write(Data("hang: input \(index) took \(took)\n".utf8))
                try Data(input).write(to: URL(fileURLWithPath: "fuzz-hang-\(target.rawValue)-\(index)"))
                throw ExitCode(1)
            }
        }
        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("fuzz \(target.rawValue): \(runs) inputs, seed \(seed), 0 crashes, 0 hangs, slowest \(slowest) (\(summary))")
    }

    func loadSeeds() throws -> [[UInt8]] {
        switch target {
        case .decoder:
            let data = try Data(contentsOf: URL(fileURLWithPath: corpus))
            let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let vectors = root?["vectors"] as? [[String: Any]] ?? []
            return vectors.compactMap { ($0["value"] as? String).map { Array($0.utf8) } }
        case .config:
            let files = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".yaml") }
            return try files.sorted().map { Array(try Data(contentsOf: URL(fileURLWithPath: corpus).appendingPathComponent($0))) }
        }
    }

    static let headers: [String: [UInt8]] = [
        "ce_type": Array(RetirementEvent.eventType.utf8), "ce_id": Array("e1".utf8),
    ]

    static func decode(_ input: [UInt8]) -> String {
        switch RetirementEventDecoder().decode(key: nil, value: input, header: { headers[$0] }) {
        case .success: "valid"
        case .failure(let bad): String(bad.code.prefix { $0 != ":" })
        }
    }

    static func loadConfig(_ input: [UInt8]) -> String {
        let text = String(decoding: input, as: UTF8.self)
        do {
            let tree = try ConfigLoader.parse(yaml: text, environment: ["SECRET": "s", "CRM_WEBHOOK_SECRET": "s"])
            _ = try ServiceConfiguration.parse(tree)
            return "valid"
        } catch is ConfigLoader.Failure {
            return "refused"
        } catch {
            return "error"
        }
    }
}
