import Foundation

extension Bench {
    // MARK: - 6. Peer

    /// The event-bus-style peer (`scripts/bench/peer_consumer.py`) and then `run`, on the same
    /// topic and the same 50 ms webhook server, each in a group of its own.
    func peer() async throws -> [Row] {
        let server = try requireWebhook()
        let partitions: Int32 = 12
        let backlog = options.peerBacklog
        let topic = "peer"
        say("peer: producing \(backlog) events (lz4, \(partitions) partitions)")
        try cluster.fill(topic, partitions: partitions, count: backlog)

        try await server.reset()
        let peerTimeout = max(60, Double(options.peerEvents) / 20 * 3)
        // The mock's group join waits for session.timeout.ms; the same timeouts as `run` gets.
        let peer = try PeerRun.run(
            python: Self.python(options), script: options.repository.appendingPathComponent("scripts/bench/peer_consumer.py"),
            arguments: [
                "--bootstrap", brokers, "--topic", topic, "--group", "peer", "--webhook-url", server.url, "--events", "\(options.peerEvents)",
                "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=300",
            ],
            directory: directory, timeout: peerTimeout)
        let peerStats = try await server.stats()
        guard peer.events > 0, peer.eventsPerSecond > 0 else { throw BenchError("the peer handled \(peer.events) events") }
        say("peer: \(peer.events) in \(fmt(peer.seconds, 2)) s = \(fmt(peer.eventsPerSecond, 1)) ev/s, \(peer.failed) failed")
        let peerAnswered = peerStats.covers(committed: Int64(peer.events))
        var rows = [
            Row(
                section: "6 peer", name: "peer: event-bus-style consumer (confluent-kafka, 1 event per poll, sync POST, sync commit)",
                events: peer.events, seconds: peer.seconds, rate: peer.eventsPerSecond, reference: "20 = 1/0.05 s",
                ratio: peer.eventsPerSecond / 20, goal: "(contrast)",
                note: "failed \(peer.failed), bad input \(peer.badInput); \(peerStats.note(committed: Int64(peer.events)))")
        ]

        for binary in binaries {
            let (outcome, stats) = try await runWebhook(
                "peer-run", binary: binary,
                config: RunConfig(topic: topic, group: "peer-run", processing: ["max_in_flight: 1024"], destination: webhook(concurrency: 1024)),
                partitions: partitions, target: Int64(backlog), timeout: 120)
            let rate = Double(outcome.events) / outcome.seconds
            let ratio = rate / peer.eventsPerSecond
            let met = ratio >= 50 && stats.covers(committed: outcome.events) && peerAnswered
            say("peer: run\(binary.suffix) \(outcome.events) in \(fmt(outcome.seconds, 2)) s = \(fmt(rate)) ev/s = \(fmt(ratio, 1))× the peer")
            goals.record(
                .peer, baseline: binary.isBaseline,
                figure: "\(fmt(rate)) / \(fmt(peer.eventsPerSecond, 1)) = \(fmt(ratio, 1))×", met: met)
            rows.append(
                Row(
                    section: "6 peer", name: "run, same topic and webhook, max_in_flight 1024\(binary.suffix)", events: Int(outcome.events),
                    seconds: outcome.seconds, rate: rate, reference: "peer \(fmt(peer.eventsPerSecond, 1)) ev/s", ratio: ratio, goal: "≥ 50×",
                    met: met,
                    note:
                        "\(outcome.completed ? "to committed == high" : "timed out,") \(outcome.events) of \(backlog); CPU \(fmt(cpuPerEvent(outcome), 1)) µs/event; \(stats.note(committed: outcome.events))"
                ))
        }
        return rows
    }
}
