import Dispatch
import Foundation
import Synchronization

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
final class FetchWaker: Sendable {
    /// A round is wanted; set by ``nudge()``, taken by the thread. Several nudges make one round.
    private let wanted = Atomic<Bool>(false)
    /// Signalled once per wanted round (and by ``stop()``); the thread waits on it.
    private let signal = DispatchSemaphore(value: 0)
    private let roundsDone = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// Seconds between two rounds at most.
    private let interval: Double

    init(interval: Double = 0.02) {
        self.interval = interval
    }

    /// Starts the thread. It holds the client weakly: a consumer dropped without ``stop()`` still
    /// ends it at the next round.
    func start(client: RDKafkaClient) {
        KafkaThread.start(name: "kafka-fetch-waker") { [self, weak client] _ in
            while true {
                signal.wait()
                guard !stopped.load(ordering: .acquiring), let client else { return }
                wanted.store(false, ordering: .releasing)
                client.wakeLeaders(of: client.context.assigned, timeoutMs: 1000)
                roundsDone.add(1, ordering: .relaxed)
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    /// Wake-up rounds done so far.
    var rounds: Int { roundsDone.load(ordering: .relaxed) }

    /// Asks for one wake-up round (several nudges before it runs make one round).
    func nudge() {
        if !wanted.exchange(true, ordering: .acquiringAndReleasing) { signal.signal() }
    }

    /// Ends the thread after its current round.
    func stop() {
        stopped.store(true, ordering: .releasing)
        signal.signal()
    }
}
