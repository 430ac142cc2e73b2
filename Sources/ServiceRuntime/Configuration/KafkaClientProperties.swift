import ConfigFile
import Kafka

/// The one place librdkafka properties are assembled, one function per role: the service's
/// consumer, the tools' consumers (replay, dlq redrive), the tools' readers (dlq list, replay's
/// plan, keys check, the demo), the group inspector (status) and the producer (dead letters,
/// receipts).
///
/// Every role is built the same way, in three layers, later ones winning:
/// 1. the role's defaults (the common base: `bootstrap.servers` from `kafka.bootstrap_servers`,
///    then what the role needs by default);
/// 2. `kafka.properties`, the operator's passthrough (security: `security.protocol`, `sasl.*`,
///    `ssl.*`, …), the refused keys already removed by ``checked(_:problems:)``;
/// 3. what the role cannot do without (its group, its commit mode); and the keys it must not
///    take (a tool never takes the service's `group.instance.id`).
///
/// The readers and the inspector are given their brokers by their caller (the demo and the tests
/// use them without a configuration), so for them `bootstrap.servers` is a layer-3 key.
package enum KafkaClientProperties {
    /// librdkafka properties that would change who commits what, refused in `kafka.properties`:
    /// each with the reason given to the operator.
    static let refused: [String: String] = [
        "group.id":
            "would replace the service's consumer group, and the groups replay and dlq redrive derive from it; set kafka.group_id",
        "enable.auto.offset.store":
            "offsets are stored only after an event is erased or dead-lettered; storing them on consumption could commit past unfinished erasures",
        "enable.auto.commit": "the service commits the offsets it stored itself; turning commits off would redo work, changing it is not supported",
        "auto.commit.enable": "an alias of enable.auto.commit, which the service manages",
        "partition.assignment.strategy": "set kafka.assignment_strategy",
    ]

    /// Consumer properties the producer never takes from `kafka.properties`.
    static let consumerOnly: Set<String> = [
        "group.id", "session.timeout.ms", "heartbeat.interval.ms", "auto.offset.reset", "enable.auto.commit",
        "auto.commit.interval.ms", "partition.assignment.strategy", "max.poll.interval.ms", "fetch.wait.max.ms",
        "queued.max.messages.kbytes", "queued.min.messages", "enable.partition.eof", "group.instance.id",
        "fetch.min.bytes", "fetch.max.bytes", "max.partition.fetch.bytes", "isolation.level", "enable.auto.offset.store",
        "statistics.interval.ms",
    ]

    /// `kafka.properties` without the refused keys; every refused key and every property
    /// librdkafka does not accept is a problem naming the key.
    static func checked(_ properties: [String: String], problems: ConfigProblems) -> [String: String] {
        var kept = properties
        for key in properties.keys.sorted() {
            guard let why = refused[key] else { continue }
            problems.add("kafka.properties.\(key)", "not allowed: \(why)")
            kept.removeValue(forKey: key)
        }
        for (key, reason) in KafkaProperties(kept).refused() {
            problems.add("kafka.properties.\(key)", reason)
        }
        return kept
    }

    /// The layers, later ones winning: the role's defaults, `kafka.properties`, the role's fixed keys.
    static func layered(
        defaults: [String: String], passthrough: [String: String], fixed: [String: String] = [:], without: Set<String> = []
    ) -> [String: String] {
        var values = defaults.merging(passthrough) { _, new in new }.merging(fixed) { _, new in new }
        for key in without { values.removeValue(forKey: key) }
        return values
    }

    /// The service's consumer (`run`, `check`), a member of `kafka.group_id`. With a `groupID`
    /// (replay, dlq redrive, benchmarks) the consumer is a tool, never a member of the service's
    /// group: no static membership (`group.instance.id`) and no automatic commits.
    package static func consumer(_ kafka: ServiceConfiguration.KafkaSection, groupID: String? = nil) -> [String: String] {
        let group = groupID ?? kafka.groupID
        let defaults: [String: String] = [
            "bootstrap.servers": kafka.bootstrapServers,
            "group.id": group,
            "client.id": "retirement-consumer",
            "enable.auto.offset.store": "false",
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": CommitPolicy.autoCommitIntervalProperty,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": "false",
            "partition.assignment.strategy": kafka.assignmentStrategy.rawValue,
            "session.timeout.ms": String(Int64(kafka.sessionTimeout.seconds * 1000)),
            "statistics.interval.ms": "5000",
            // The prefetch budget: what librdkafka holds read ahead, and the largest fetch
            // response (docs/performance.md#memory has what each costs).
            // librdkafka 2.0.2 stalls a fetcher whose queue was full until its broker thread wakes;
            // KafkaConsumer wakes it (FetchWaker), so a small queue costs no throughput.
            "queued.max.messages.kbytes": String(kafka.prefetchKBytes),
            "fetch.max.bytes": String(max(1_000_000, kafka.prefetchKBytes * 1024)),
            "receive.message.max.bytes": String(max(100_000_000, kafka.prefetchKBytes * 1024 + 512)),
            // librdkafka's default: the queue is bounded by queued.max.messages.kbytes.
            "queued.min.messages": "100000",
            "fetch.wait.max.ms": "100",
            "log_level": "4",
        ]
        // The at-least-once pattern needs these; they are not negotiable.
        var fixed = ["enable.auto.offset.store": "false", "group.id": group]
        if groupID != nil { fixed["enable.auto.commit"] = "false" }
        return layered(
            defaults: defaults, passthrough: kafka.properties, fixed: fixed, without: groupID == nil ? [] : ["group.instance.id"])
    }

    /// A reader of a topic's records between offsets, by manual assignment (never a group member,
    /// never committing): `dlq list`, `dlq redrive`'s and `replay`'s plans, `keys check`, the demo.
    package static func reader(bootstrapServers: String, passthrough: [String: String], groupID: String) -> [String: String] {
        layered(
            defaults: ["log_level": "3"], passthrough: passthrough,
            fixed: [
                "bootstrap.servers": bootstrapServers, "group.id": groupID, "enable.auto.commit": "false",
                "enable.auto.offset.store": "false", "fetch.wait.max.ms": "50",
            ],
            without: ["group.instance.id"])
    }

    /// Reads a group's committed offsets and the topic's watermarks without joining the group (`status`).
    package static func inspector(bootstrapServers: String, passthrough: [String: String], groupID: String) -> [String: String] {
        layered(
            defaults: ["log_level": "3"], passthrough: passthrough,
            fixed: ["bootstrap.servers": bootstrapServers, "group.id": groupID, "enable.auto.commit": "false"])
    }

    /// The producer of dead-letter records and receipts: `kafka.properties` without the consumer-only
    /// keys. ``KafkaProducer`` puts its delivery defaults (`acks=all`, idempotence, …) under these.
    package static func producer(_ kafka: ServiceConfiguration.KafkaSection) -> [String: String] {
        layered(
            defaults: ["bootstrap.servers": kafka.bootstrapServers, "client.id": "retirement-consumer-dlq", "log_level": "4"],
            passthrough: kafka.properties.filter { !consumerOnly.contains($0.key) })
    }
}
