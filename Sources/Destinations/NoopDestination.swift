import Engine
import RetirementEvent

/// `type: noop`: erases nothing and answers "erased" for every event at once. For benchmarks and
/// trials of the pipeline (Kafka, decoding, dispatch, offsets) without an external system.
/// Never use it in production: the events it takes are committed as done.
package struct NoopDestination: ImmediateDestination {
    package let name: String
    package let maxBatchSize: Int

    package init(name: String, maxBatchSize: Int = 1) {
        self.name = name
        self.maxBatchSize = max(1, maxBatchSize)
    }

    package func erase(_ events: [RetirementEvent]) async -> [ErasureOutcome] {
        eraseImmediately(events)
    }

    package func eraseImmediately(_ events: [RetirementEvent]) -> [ErasureOutcome] {
        Array(repeating: .erased(jobID: nil), count: events.count)
    }

    package func check() async -> [String] { [] }

    /// Answers at once, in process: no deadline to watch.
    package var canHang: Bool { false }

    /// `type: noop`: `batch_size` (optional, default 1: one event per call).
    /// Default limits: concurrency 1024, no rate limit.
    static let make: DestinationFactory = { reader, _ in
        let name = reader.string("name") ?? ""
        let batchSize = reader.int("batch_size", default: 1, range: 1...10_000)
        return ({ _ in NoopDestination(name: name, maxBatchSize: batchSize) }, DestinationLimits(concurrency: 1024))
    }
}
