import Engine
import Foundation
import Kafka
import Logging
import Metrics
import RetirementEvent
import Synchronization

/// Writes erasure receipts as log lines and/or JSON records on a Kafka topic (key: user id).
/// A receipt holds ids, the destination and the outcome: never the email or name.
///
/// A receipt is evidence, not the erasure itself: ``record(_:)`` only queues it. A background
/// task writes the queue to Kafka (up to ``maxConcurrentWrites`` at once, each awaiting the
/// broker's acknowledgement), retrying a failed write a few times; a write that still fails
/// is counted and logged with ids, and a full queue drops new receipts (counted), so a missing
/// receipts topic or a broker outage never delays an event's completion.
///
/// `@unchecked Sendable`: the queue is behind a `Mutex`, the rest is immutable except `worker`,
/// which `init` sets once before the writer is shared.
package final class ErasureReceiptWriter: ReceiptSink, @unchecked Sendable {
    private struct Queue {
        var items: [ErasureReceipt] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false

        var count: Int { items.count - head }
    }

    private let producer: KafkaProducer?
    private let topic: String?
    private let logger: Logger?
    private let capacity: Int
    private let queue = Mutex(Queue())
    private let queued = Gauge(label: "retirement_receipts_queued")
    private let dropped = Counter(label: "retirement_receipts_dropped_total")
    private let failed = Counter(label: "retirement_receipt_write_failures_total")
    private let written = Counter(label: "retirement_receipts_written_total")
    private let writerLogger: Logger
    /// Set once in `init` (hence `@unchecked Sendable`).
    private var worker: Task<Void, Never>?
    /// Receipt writes awaiting their acknowledgement at once.
    let maxConcurrentWrites = 256
    /// Waits between the attempts of one receipt write.
    let retryDelays: [Duration]

    /// - Parameters:
    ///   - producer, topic: where receipts go (both `nil`: log only).
    ///   - logger: receipts are also written as log lines when set.
    ///   - capacity: receipts waiting to be written before new ones are dropped.
    ///   - errorLogger: where write failures are logged.
    package init(
        producer: KafkaProducer?, topic: String?, logger: Logger?, capacity: Int = 10_000, errorLogger: Logger,
        retryDelays: [Duration] = [.milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(2)]
    ) {
        self.producer = producer
        self.topic = topic
        self.logger = logger
        self.capacity = max(1, capacity)
        self.writerLogger = errorLogger
        self.retryDelays = retryDelays
        queued.record(0)
        if producer != nil, topic != nil {
            worker = Task { [self] in await self.writeLoop() }
        }
    }

    package static func json(_ receipt: ErasureReceipt) -> [UInt8] {
        var members: [(String, CompactJSON.Value)] = [
            ("attempts", .integer(Int64(receipt.attempts))), ("destination", .string(receipt.destination)),
            ("event_id", .string(receipt.eventID)), ("outcome", .string(receipt.outcome.rawValue)),
            ("time", .string(RFC3339.utc(epochSeconds: receipt.time))), ("user_id", .integer(receipt.userID)),
        ]
        if let jobID = receipt.jobID { members.append(("job_id", .string(jobID))) }
        return CompactJSON.object(members)
    }

    package func record(_ receipt: ErasureReceipt) {
        logger?.info(
            "erasure receipt",
            metadata: [
                "receipt.event_id": "\(receipt.eventID)", "receipt.user_id": "\(receipt.userID)",
                "receipt.destination": "\(receipt.destination)", "receipt.outcome": "\(receipt.outcome.rawValue)",
                "receipt.job_id": "\(receipt.jobID ?? "")", "receipt.attempts": "\(receipt.attempts)",
            ])
        guard worker != nil else { return }
        let (accepted, depth, waiter) = queue.withLock { queue -> (Bool, Int, CheckedContinuation<Void, Never>?) in
            guard !queue.closed, queue.count < capacity else { return (false, queue.count, nil) }
            queue.items.append(receipt)
            let waiter = queue.waiter
            queue.waiter = nil
            return (true, queue.count, waiter)
        }
        queued.record(depth)
        waiter?.resume()
        if !accepted {
            dropped.increment()
            writerLogger.warning(
                "receipt queue full; receipt dropped",
                metadata: ["event_id": "\(receipt.eventID)", "user_id": "\(receipt.userID)", "destination": "\(receipt.destination)"])
        }
    }

    /// Receipts waiting to be written.
    package var pendingCount: Int { queue.withLock { $0.count } }

    /// Stops taking receipts and waits up to `timeout` for the queued ones to be written.
    package func shutdown(timeout: Duration) async {
        queue.withLock { $0.closed = true }
        let deadline = ContinuousClock.now + timeout
        while pendingCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        worker?.cancel()
        let waiter = queue.withLock { queue -> CheckedContinuation<Void, Never>? in
            defer { queue.waiter = nil }
            return queue.waiter
        }
        waiter?.resume()
        // Writes still awaiting an acknowledgement are not waited for: the producer's flush at
        // shutdown gives them their last chance.
    }

    private func next() async -> ErasureReceipt? {
        while !Task.isCancelled {
            let item = queue.withLock { queue -> ErasureReceipt? in
                guard queue.head < queue.items.count else { return nil }
                let item = queue.items[queue.head]
                queue.head += 1
                if queue.head == queue.items.count {
                    queue.items.removeAll(keepingCapacity: true)
                    queue.head = 0
                }
                return item
            }
            if let item { return item }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = queue.withLock { queue -> Bool in
                    if queue.head < queue.items.count || queue.closed { return true }
                    queue.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            if queue.withLock({ $0.closed && $0.count == 0 }) { return nil }
        }
        return nil
    }

    private func writeLoop() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            while let receipt = await next() {
                if running >= maxConcurrentWrites {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await self.write(receipt) }
                queued.record(pendingCount)
            }
        }
    }

    private func write(_ receipt: ErasureReceipt) async {
        guard let producer, let topic else { return }
        var lastError: KafkaError?
        for attempt in 0...retryDelays.count {
            do {
                try await producer.send(topic: topic, key: Array(String(receipt.userID).utf8), value: ErasureReceiptWriter.json(receipt))
                lastError = nil
                break
            } catch {
                lastError = error
                guard attempt < retryDelays.count else { break }
                try? await Task.sleep(for: retryDelays[attempt])
            }
        }
        if let lastError {
            failed.increment()
            writerLogger.error(
                "receipt write failed; the erasure itself is done and committed",
                metadata: [
                    "event_id": "\(receipt.eventID)", "user_id": "\(receipt.userID)", "destination": "\(receipt.destination)",
                    "error": "\(lastError)",
                ])
        } else {
            written.increment()
        }
    }
}
