import Engine
import RetirementEvent

/// Collects single events into batches of up to `maxSize`, sent when full or after `linger`.
actor Batcher {
    typealias Send = @Sendable ([RetirementEvent]) async -> [ErasureOutcome]

    private let maxSize: Int
    private let linger: Duration
    private var pending: [(RetirementEvent, CheckedContinuation<ErasureOutcome, Never>)] = []
    private var timer: Task<Void, Never>?
    private var send: Send?

    init(maxSize: Int, linger: Duration) {
        self.maxSize = maxSize
        self.linger = linger
    }

    func submit(_ event: RetirementEvent, send: @escaping Send) async -> ErasureOutcome {
        self.send = send
        return await withCheckedContinuation { continuation in
            pending.append((event, continuation))
            flush(force: false)
        }
    }

    private func lingerElapsed() {
        timer = nil
        flush(force: true)
    }

    /// Sends every full batch, and the rest too when `force`; keeps a timer for what waits.
    private func flush(force: Bool) {
        guard let send else { return }
        while pending.count >= maxSize || (force && !pending.isEmpty) {
            let count = min(maxSize, pending.count)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            Task {
                let outcomes = await send(batch.map(\.0))
                for (index, item) in batch.enumerated() { item.1.resume(returning: outcomes[index]) }
            }
        }
        if pending.isEmpty {
            timer?.cancel()
            timer = nil
        } else if timer == nil {
            let linger = self.linger
            timer = Task {
                // Cancelled when the batch filled up first: then there is nothing to send.
                guard (try? await Task.sleep(for: linger)) != nil else { return }
                self.lingerElapsed()
            }
        }
    }
}
