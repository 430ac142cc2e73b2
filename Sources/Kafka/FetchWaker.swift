import CRdKafka
import Foundation

/// Keeps librdkafka's fetchers going while a backlog is read through a small prefetch queue.
///
/// librdkafka 2.0.2 stops fetching a partition while the consumer queue holds more than
/// `queued.max.messages.kbytes`, and looks again only when its broker thread next wakes: up to a
/// second later when nothing else wakes it. With a queue small enough to bound memory the reader
/// then idles most of the time (docs/performance.md). When a poll has read everything librdkafka
/// held and librdkafka knows of more records, ``KafkaConsumer`` calls ``nudge()``; this thread
/// then sends one offsets request per leader of the assigned partitions (at most one round every
/// `interval`), which wakes each leader's broker thread, and that fetches again. The polling
/// thread never waits for it.
///
/// `@unchecked Sendable`: every mutable property is read and written under `condition` (an
/// NSCondition, because the thread waits on it; `Mutex` cannot wait).
final class FetchWaker: @unchecked Sendable {
    private let condition = NSCondition()
    private var wanted = false
    private var stopped = false
    private var roundsDone = 0
    /// Seconds between two rounds at most.
    private let interval: Double

    init(interval: Double = 0.02) {
        self.interval = interval
    }

    /// Starts the thread. It holds the client weakly: a consumer dropped without ``stop()`` still
    /// ends it at the next round.
    func start(client: RDKafkaClient) {
        let thread = Thread { [self, weak client] in
            while true {
                condition.lock()
                while !wanted, !stopped { condition.wait() }
                let stop = stopped
                wanted = false
                condition.unlock()
                guard !stop, let client else { return }
                client.wakeLeaders(of: client.context.assigned, timeoutMs: 1000)
                condition.lock()
                roundsDone += 1
                condition.unlock()
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "kafka-fetch-waker"
        thread.start()
    }

    /// Wake-up rounds done so far.
    var rounds: Int {
        condition.lock()
        defer { condition.unlock() }
        return roundsDone
    }

    /// Asks for one wake-up round (several nudges before it runs make one round).
    func nudge() {
        condition.lock()
        wanted = true
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread after its current round.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
