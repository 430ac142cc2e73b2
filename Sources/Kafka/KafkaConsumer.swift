import CRdKafka
import Foundation
import Logging
import Synchronization

/// librdkafka's high-level (group) consumer, or a manually assigned one.
///
/// One thread polls it; the rebalance handler runs on that thread inside ``poll(timeoutMs:)``.
/// The other calls are thread-safe, as librdkafka's are.
///
/// `@unchecked Sendable`: the mutable state here (`fetchWakerStarted`, `lastBacklogCheck`,
/// `topicNames`) is touched only by the thread that polls, or by the close helper thread while
/// the polling thread waits for it (never both at once); the rest is immutable or locked.
package final class KafkaConsumer: @unchecked Sendable {
    let client: RDKafkaClient
    /// Whether the group protocol is cooperative, from `partition.assignment.strategy` (only
    /// `cooperative-sticky` is). Never asked of librdkafka: `rd_kafka_rebalance_protocol` is a
    /// round trip to its main thread without a timeout, and the rebalance handler runs on the
    /// polling thread.
    package let cooperative: Bool
    /// `EAGER` or `COOPERATIVE`, as configured (see ``cooperative``).
    package var rebalanceProtocol: String { cooperative ? "COOPERATIVE" : "EAGER" }

    /// Creates a consumer. `rebalanceHandler` sees every assign, revoke and lost event; offsets of
    /// revoked partitions should be stored (and committed) before it returns.
    package init(
        properties: KafkaProperties, logger: Logger,
        rebalanceHandler: (@Sendable (RebalanceEvent) -> Void)? = nil,
        statisticsHandler: (@Sendable (String) -> Void)? = nil,
        commitHandler: (@Sendable (KafkaError?, [TopicPartitionOffset]) -> Void)? = nil,
        startOffsets: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64])? = nil
    ) throws(KafkaError) {
        client = try RDKafkaClient(kind: .consumer, properties: properties, logger: logger) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let rk, let partitions else { return }
                KafkaConsumer.handleRebalance(rk, err, partitions, RDKafkaClientContext.from(opaque))
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { _, err, offsets, opaque in
                guard let context = RDKafkaClientContext.from(opaque), let handler = context.commitHandler else { return }
                if err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
                let list = offsets.map { RDKafkaTopicPartitionList.read($0) } ?? []
                let error =
                    err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? offsets.flatMap { RDKafkaTopicPartitionList.firstError($0, context: "commit") }
                    : KafkaError(err, context: "commit")
                handler(error, list)
            }
        }
        cooperative = properties["partition.assignment.strategy"]?.contains("cooperative") ?? false
        client.context.cooperative = cooperative
        client.context.rebalanceHandler = rebalanceHandler
        client.context.statisticsHandler = statisticsHandler
        client.context.commitHandler = commitHandler
        client.context.startOffsets = startOffsets
        rd_kafka_poll_set_consumer(client.handle)
        consumerQueue = rd_kafka_queue_get_consumer(client.handle)
    }

    /// The consumer queue ``poll(timeoutMs:)`` waits on (`nil` without a group), kept for ``wakeup()``.
    private let consumerQueue: OpaquePointer?
    /// Set when close begins: from then on ``wakeup()`` does nothing. During
    /// `rd_kafka_consumer_close` the consumer queue is forwarded to close's own queue, and a
    /// `rd_kafka_queue_yield` there makes close return `_TIMED_OUT` before it serves the final
    /// revoke (no final commit, no LeaveGroup: the group waits a session timeout).
    private let closing = Mutex<Bool>(false)

    deinit {
        fetchWaker.stop()
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
    }

    /// Makes a ``poll(timeoutMs:)`` waiting on another thread return now (with no message), so the
    /// poller can act at once (e.g. resume a partition) instead of at the end of its timeout.
    /// Does nothing once close began (see ``close(within:)``).
    package func wakeup() {
        closing.withLock { closing in
            guard !closing, let consumerQueue else { return }
            rd_kafka_queue_yield(consumerQueue)
        }
    }

    private static func handleRebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, _ context: RDKafkaClientContext?
    ) {
        let cooperative = context?.cooperative ?? false
        let list = RDKafkaTopicPartitionList.read(partitions).map(\.topicPartition)
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if let starts = context?.startOffsets?(list), !starts.isEmpty {
                for index in 0..<Int(partitions.pointee.cnt) {
                    let element = partitions.pointee.elems[index]
                    let tp = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    if let offset = starts[tp] { partitions.pointee.elems[index].offset = offset }
                }
            }
            context?.updateAssigned(list, replace: !cooperative, adding: true)
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    context?.assignmentFailed(KafkaError(consuming: error, context: "incremental assign"))
                }
            } else {
                let result = rd_kafka_assign(rk, partitions)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { context?.assignmentFailed(KafkaError(result, context: "assign")) }
            }
            context?.rebalanceHandler?(.assign(list))
        } else {
            let lost = rd_kafka_assignment_lost(rk) != 0
            context?.updateAssigned(list, replace: !cooperative, adding: false)
            context?.rebalanceHandler?(lost ? .lost(list) : .revoke(list))
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    context?.assignmentFailed(KafkaError(consuming: error, context: "incremental unassign"))
                }
            } else {
                let result = rd_kafka_assign(rk, nil)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { context?.assignmentFailed(KafkaError(result, context: "unassign")) }
            }
        }
    }

    /// Subscribes to topics; partitions arrive through the rebalance handler.
    package func subscribe(topics: [String]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList.make(topics.map { TopicPartition(topic: $0, partition: Int32(RD_KAFKA_PARTITION_UA)) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "subscribe") }
    }

    /// Assigns partitions manually (no group membership) starting at the given offsets.
    package func assign(_ partitions: [TopicPartitionOffset]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "assign") }
        client.context.updateAssigned(partitions.map(\.topicPartition), replace: true, adding: true)
    }

    /// Serves callbacks and returns the next message, or `nil` after the timeout.
    /// Transient consumer errors are logged and skipped; a fatal error throws.
    package func poll(timeoutMs: Int32) throws(KafkaError) -> KafkaMessage? {
        var taken: KafkaMessage?
        _ = try poll(maxMessages: 1, timeoutMs: timeoutMs) {
            taken = $0
            return true
        }
        return taken
    }

    /// Serves callbacks and hands up to `maxMessages` messages to `body`, in order: waits up to
    /// `timeoutMs` for the first, then takes only what librdkafka already holds, until `body`
    /// answers `false`. Returns how many it handed over. Each message is handed over before the
    /// next poll, so a rebalance handler served by a later poll of the same call sees every
    /// earlier message already delivered. Transient consumer errors are logged and skipped; a
    /// fatal error throws.
    @discardableResult
    package func poll(maxMessages: Int, timeoutMs: Int32, _ body: (KafkaMessage) -> Bool) throws(KafkaError) -> Int {
        // A failed assign or unassign (recorded by the rebalance handler) stops the consumer.
        if let fatal = client.context.fatalErrorSeen { throw fatal }
        var delivered = 0
        var timeout = timeoutMs
        while delivered < maxMessages {
            guard let message = rd_kafka_consumer_poll(client.handle, timeout) else {
                if let fatal = client.context.fatalErrorSeen { throw fatal }
                break
            }
            timeout = 0
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                let error = KafkaError(err, context: "consume")
                if err == RD_KAFKA_RESP_ERR__FATAL {
                    throw client.context.fatalErrorSeen ?? KafkaError(code: err.rawValue, message: error.message, isFatal: true)
                }
                client.context.logger.warning("consumer error", metadata: ["error": "\(error)"])
                continue
            }
            delivered += 1
            guard body(KafkaMessage(copying: message, topicNames: topicNames)) else { return delivered }
        }
        if delivered < maxMessages { wakeFetchersIfBehind() }
        return delivered
    }

    /// Topic names of consumed records (see ``RDKafkaTopicNames``); only the polling thread uses it.
    private let topicNames = RDKafkaTopicNames()
    /// Wakes librdkafka's fetchers when a poll drained its queue while records wait (see ``FetchWaker``).
    private let fetchWaker = FetchWaker()
    private var fetchWakerStarted = false
    private var lastBacklogCheck = ContinuousClock.now

    /// How many times this consumer woke librdkafka's fetchers (see ``FetchWaker``).
    package var fetcherWakeRounds: Int { fetchWaker.rounds }

    /// Whether librdkafka has seen records past the consume position of an assigned partition
    /// (from its last fetch responses; no request is sent).
    package var knowsOfUnconsumedRecords: Bool { client.hasUnconsumedRecords(client.context.fetching) }

    /// A poll read everything librdkafka held: if librdkafka knows of more records for the
    /// assignment, its fetcher may have stopped at `queued.max.messages.kbytes`; wake it.
    /// Checked at most every 10 ms, on the polling thread, without a request.
    private func wakeFetchersIfBehind() {
        let now = ContinuousClock.now
        guard now - lastBacklogCheck >= .milliseconds(10) else { return }
        lastBacklogCheck = now
        // Paused partitions do not count: librdkafka does not fetch them, waking it changes nothing.
        guard client.hasUnconsumedRecords(client.context.fetching) else { return }
        nudgeFetchWaker()
    }

    /// Asks the fetch waker thread for a round (started on first use).
    private func nudgeFetchWaker() {
        if !fetchWakerStarted {
            fetchWakerStarted = true
            fetchWaker.start(client: client)
        }
        fetchWaker.nudge()
    }

    /// Stores offsets (the next offset to consume) for the auto-committer and the next commit.
    /// Partitions no longer assigned are reported in the error, the others are stored.
    package func storeOffsets(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_store(client.handle, list)
        if let error = RDKafkaTopicPartitionList.firstError(list, context: "store offset") { throw error }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "store offsets") }
    }

    /// Commits the given offsets, or all stored offsets when `nil`, and waits for the result.
    /// Refused once close began (see ``refuseCommitWhileClosing()``).
    package func commit(_ offsets: [TopicPartitionOffset]? = nil) throws(KafkaError) {
        try refuseCommitWhileClosing()
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        if let offsets {
            guard !offsets.isEmpty else { return }
            list = RDKafkaTopicPartitionList.make(offsets)
        }
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        let err = rd_kafka_commit(client.handle, list, 0)
        if err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "commit") }
    }

    /// Commits the given offsets and waits at most `timeout` for the broker's answer; throws a
    /// `_TIMED_OUT` error past it (the commit may still land later). Never blocks longer than
    /// `timeout`, whatever the coordinator's state: for the poll thread, inside a revoke and at
    /// shutdown, where a synchronous commit could wait up to `session.timeout.ms`.
    package func commit(_ offsets: [TopicPartitionOffset], timeout: Duration) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try refuseCommitWhileClosing()
        let list = RDKafkaTopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard let queue = rd_kafka_queue_new(client.handle) else { throw KafkaError.configuration("cannot create a queue") }
        defer { rd_kafka_queue_destroy(queue) }
        let err = rd_kafka_commit_queue(client.handle, list, queue, nil, nil)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "commit") }
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            let parts = remaining.components
            let milliseconds = Int32(clamping: parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000 + 1)
            guard let event = rd_kafka_queue_poll(queue, milliseconds) else { continue }
            defer { rd_kafka_event_destroy(event) }
            guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT else { continue }
            let result = rd_kafka_event_error(event)
            if result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            throw KafkaError(result, context: "commit")
        }
        throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, context: "commit (no answer within \(timeout))")
    }

    /// Stops fetching from partitions; polling must go on.
    package func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_pause_partitions(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "pause") }
        client.context.updatePaused(partitions, paused: true)
    }

    /// Resumes fetching from paused partitions.
    package func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_resume_partitions(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "resume") }
        client.context.updatePaused(partitions, paused: false)
    }

    /// Wakes the fetcher of just-resumed partitions. librdkafka 2.0.2 acts on a resume at its broker
    /// thread's next wakeup, up to a second later when that broker has no fetch in flight (every
    /// partition it leads for us paused): a paused-and-resumed partition sat idle that long. An
    /// offsets request to each leader wakes that thread now. The request is sent by the fetch
    /// waker's thread (see ``FetchWaker``), never here: this runs on the polling thread, also
    /// inside a revoke and at shutdown, and must not wait on a broker. (It used
    /// `rd_kafka_query_watermark_offsets`, which in 2.0.2 ignores its timeout once its request is
    /// sent: with the leader down, the polling thread waited for `socket.timeout.ms`.)
    package func wakeFetchers(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        nudgeFetchWaker()
    }

    /// Moves the fetch position of assigned partitions; waits up to `timeoutMs`.
    package func seek(_ offsets: [TopicPartitionOffset], timeoutMs: Int32) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(client.handle, list, timeoutMs) {
            throw KafkaError(consuming: error, context: "seek")
        }
        if let error = RDKafkaTopicPartitionList.firstError(list, context: "seek") { throw error }
    }

    /// The group's committed offsets for these partitions (`KafkaError.invalidOffset` when none).
    package func committed(_ partitions: [TopicPartition], timeoutMs: Int32) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = RDKafkaTopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(client.handle, list, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "committed") }
        if let error = RDKafkaTopicPartitionList.firstError(list, context: "committed") { throw error }
        return RDKafkaTopicPartitionList.read(list)
    }

    /// Low and high watermarks, asked of the broker.
    package func queryWatermarks(_ tp: TopicPartition, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        try client.queryWatermarks(tp, timeoutMs: timeoutMs)
    }

    /// Partition count of a topic.
    package func partitionCount(topic: String, timeoutMs: Int32) throws(KafkaError) -> Int32 {
        try client.partitionCount(topic: topic, timeoutMs: timeoutMs)
    }

    /// For each partition, the first offset with a timestamp at or after the given time (in `.offset`, ms).
    package func offsetsForTimes(_ items: [TopicPartitionOffset], timeoutMs: Int32) throws(KafkaError) -> [TopicPartitionOffset] {
        try client.offsetsForTimes(items, timeoutMs: timeoutMs)
    }

    /// Leaves the group: the rebalance handler sees the final revoke (on this thread), then the
    /// consumer stops. Waits as long as librdkafka does (every outstanding commit and the
    /// LeaveGroup answer, without a bound): for tools; the service uses ``close(within:)``.
    package func close() throws(KafkaError) {
        beginClose()
        let err = rd_kafka_consumer_close(client.handle)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "close") }
    }

    /// Leaves the group as ``close()`` does, on a helper thread (the rebalance handler sees the
    /// final revoke there), and waits at most `timeout`. Returns `false` when close had not
    /// returned by then: it goes on in the background, and this consumer stays alive until it
    /// returns. librdkafka 2.0.2's close waits for every outstanding commit and for the
    /// LeaveGroup answer without a bound (with every broker down: until the process ends).
    package func close(within timeout: Duration) throws(KafkaError) -> Bool {
        beginClose()
        let run = KafkaThread.call(name: "kafka-consumer-close") { [self] in rd_kafka_consumer_close(client.handle).rawValue }
        guard let code = run.wait(timeout: timeout) else { return false }
        let err = rd_kafka_resp_err_t(rawValue: code)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "close") }
        return true
    }

    /// Once close began, a commit is refused (`_STATE`): close commits the stored offsets itself
    /// as it unassigns. librdkafka 2.0.2 aborts the process when a commit reaches a group that
    /// close already brought to its end (`rdkafka_cgrp.c:2583`, `rd_kafka_cgrp_terminated`:
    /// the deferred commit counts as assignment work in progress). That happens when a revoke
    /// was pending as close began: close clears the assignment, commits, leaves and terminates
    /// by itself, and only then serves the stale revoke, whose handler committed again.
    private func refuseCommitWhileClosing() throws(KafkaError) {
        guard closing.withLock({ $0 }) else { return }
        throw KafkaError(
            code: RD_KAFKA_RESP_ERR__STATE.rawValue,
            message: "commit: the consumer is closing (close commits the stored offsets as it leaves)")
    }

    private func beginClose() {
        fetchWaker.stop()
        closing.withLock { $0 = true }
    }
}
