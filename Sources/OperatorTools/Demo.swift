import ConfigFile
import Engine
import Foundation
import Hummingbird
import Kafka
import Logging
import Prometheus
import RetirementEvent
import ServiceRuntime
import Synchronization

/// `demo`: the main job on the embedded default. An in-process Kafka cluster, sample retirement
/// events (a few of them malformed), two local destinations that misbehave now and then, the real
/// service wired as `run` wires it, progress on the terminal and a summary with proof.
package enum Demo {
    package struct Options: Sendable {
        package var events: Int = 300
        package var partitions: Int32 = 6
        package var badRecords: Int = 4
        package init() {}
    }

    /// What the demo's local destinations saw.
    final class LocalDestination: Sendable {
        let name: String
        let erased = Mutex<Set<Int>>([])
        let requests = Mutex<Int>(0)
        let failFirstEvery: Int
        let refuseEvery: Int

        init(name: String, failFirstEvery: Int, refuseEvery: Int) {
            self.name = name
            self.failFirstEvery = failFirstEvery
            self.refuseEvery = refuseEvery
        }

        /// 503 on the first try for every `failFirstEvery`-th user, 400 for every `refuseEvery`-th.
        func answer(_ body: [UInt8]) -> HTTPResponse.Status {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let user = object["user_id"] as? Int
            else { return .badRequest }
            requests.withLock { $0 += 1 }
            let attempt = attempts.withLock {
                $0[user, default: 0] += 1; return $0[user]!
            }
            if refuseEvery > 0, user % refuseEvery == 0 { return .badRequest }
            if failFirstEvery > 0, user % failFirstEvery == 0, attempt == 1 { return .serviceUnavailable }
            erased.withLock { _ = $0.insert(user) }
            return .ok
        }
        let attempts = Mutex<[Int: Int]>([:])
    }

    package static func run(options: Options, registry: PrometheusCollectorRegistry, print: @escaping @Sendable (String) -> Void) async throws -> Bool {
        var quiet = Logger(label: "demo")
        quiet.logLevel = .critical
        let started = ContinuousClock.now
        print("retirement-consumer demo: in-process Kafka cluster, \(options.events) sample retirements, 3 local destinations\n")

        let cluster = try MockCluster(brokers: 1, logger: quiet)
        let topic = "user-retirement"
        try cluster.createTopic(topic, partitions: options.partitions)
        try cluster.createTopic("\(topic).dlq", partitions: options.partitions)

        let crm = LocalDestination(name: "crm", failFirstEvery: 7, refuseEvery: 0)
        let email = LocalDestination(name: "email-platform", failFirstEvery: 0, refuseEvery: 101)
        let braze = LocalBrazeAPI()
        let port = try await startLocalServer([crm, email], braze: braze)
        print("  local destinations: a webhook CRM that answers 503 now and then, a webhook email platform that refuses")
        print("  some learners, and a Braze-shaped API (POST /users/delete, up to 50 external ids per call), on 127.0.0.1:\(port)")

        let producer = try KafkaProducer(properties: KafkaProperties(["bootstrap.servers": cluster.bootstrapServers, "log_level": "2"]), logger: quiet)
        // Half the events carry their personal fields encrypted, as the LMS plugin publishes them
        // with a keyring (docs/encryption.md); the consumer gets the same keyring.
        let key = try Keyring.Key.generate(id: "demo-key", created: KeyringAudit.nowRFC3339())
        let keyring = try Keyring(current: key.id, keys: [key])
        try await produceSamples(options: options, topic: topic, producer: producer, encryptingWith: key)
        print("  published \(options.events) retirement events and \(options.badRecords) malformed records to \(topic) (\(options.partitions) partitions)")
        print("  every other event has its email, username and name encrypted (AES-256-GCM); the consumer holds the keyring")

        let metricsPort = try freeLocalPort()
        let yaml = """
            kafka:
              bootstrap_servers: "\(cluster.bootstrapServers)"
              topic: \(topic)
              group_id: demo
              properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "300", log_level: "2"}
            processing:
              max_in_flight: 64
              retry: {initial_backoff: 50ms, max_backoff: 500ms, max_attempts: 4}
              shutdown_grace: 5s
            http:
              listen: "127.0.0.1:\(metricsPort)"
            logging: {level: critical, format: text}
            encryption:
              keyring_env: DEMO_KEYRING
            destinations:
              - {name: crm, type: webhook, url: "http://127.0.0.1:\(port)/crm", secret: demo-webhook-secret-not-for-production}
              - {name: email-platform, type: webhook, url: "http://127.0.0.1:\(port)/email-platform"}
              - {name: braze, type: braze, base_url: "http://127.0.0.1:\(port)/braze", api_key: demo-key, batch_linger: 100ms}
            """
        let configuration = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: ["DEMO_KEYRING": keyring.json]))
        let service = try RetirementService.build(configuration: configuration, registry: registry, logger: quiet)
        print("  consumer group 'demo' starting; metrics at http://127.0.0.1:\(metricsPort)/metrics\n")
        let runner = Task { try await service.run(signals: [.sigint, .sigterm]) }

        let inspector = try GroupInspector(bootstrapServers: cluster.bootstrapServers, groupID: "demo", topic: topic, logger: quiet)
        let total = options.events + options.badRecords
        var caughtUp = false
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let rows = (try? inspector.status(timeoutMs: 2000)) ?? []
            let committed = rows.reduce(Int64(0)) { $0 + max($1.committed ?? 0, 0) }
            let line = String(
                format: "  %5.1fs  committed %4lld/%d   erased: crm %4d  email-platform %4d  braze %4d   in flight %3d",
                (ContinuousClock.now - started).seconds, committed, total, crm.erased.withLock { $0.count },
                email.erased.withLock { $0.count }, braze.erased.withLock { $0.count }, service.consumer.engine.inFlightCount)
            print(line)
            if !rows.isEmpty, rows.allSatisfy({ ($0.committed ?? -1) >= $0.high }) {
                caughtUp = true
                break
            }
        }
        service.consumer.requestStop()
        try await runner.value

        var reasons: [String: Int] = [:]
        let dlq = try TopicReader(bootstrapServers: cluster.bootstrapServers, topic: "\(topic).dlq", groupID: "demo-summary", logger: quiet)
        let marks = try dlq.watermarks()
        try dlq.read(ranges: marks.mapValues { ($0.low, $0.high) }) { message in
            let reason = message.header(DeadLetterContract.Header.error).map(DeadLetterContract.reasonLabel) ?? "?"
            let owed = message.header(DeadLetterContract.Header.destinations) ?? ""
            reasons["\(reason)\(owed.isEmpty ? "" : " (owed by \(owed))")", default: 0] += 1
        }
        let seconds = (ContinuousClock.now - started).seconds
        print("\nsummary")
        print("  events published        \(options.events) valid + \(options.badRecords) malformed")
        print("  erased at crm            \(crm.erased.withLock { $0.count })  (\(crm.requests.withLock { $0 }) requests, retries included)")
        print("  erased at email-platform \(email.erased.withLock { $0.count })  (\(email.requests.withLock { $0 }) requests)")
        print("  erased at braze          \(braze.erased.withLock { $0.count })  (\(braze.calls.withLock { $0 }) calls of up to 50 ids)")
        print("  dead-lettered            \(reasons.values.reduce(0, +)) to \(topic).dlq")
        for (reason, count) in reasons.sorted(by: { $0.key < $1.key }) { print("    \(count) × \(reason)") }
        print("  offsets committed        \(caughtUp ? "every partition at its high watermark" : "NOT caught up (timed out)")")
        print(String(format: "  took                     %.1f s", seconds))
        print("\nEvery event was either erased at every destination or dead-lettered with the destinations that still owe it;")
        print("only then was its offset committed. Try `retirement-consumer dev-cluster` and `run --config` next (see README).")
        withExtendedLifetime(cluster) {}
        return caughtUp
    }

    static func produceSamples(options: Options, topic: String, producer: KafkaProducer, encryptingWith key: Keyring.Key) async throws {
        // Every other learner's personal fields are encrypted, as the LMS plugin does with a keyring.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for userID in 1001...(1000 + options.events) {
                group.addTask {
                    let value =
                        userID % 2 == 0
                        ? try SampleEvents.sealedValue(userID: userID, eventID: "demo-\(userID)", key: key)
                        : SampleEvents.value(userID: userID)
                    try await producer.send(
                        topic: topic, key: Array(String(userID).utf8), value: value,
                        headers: SampleEvents.headers(userID: userID, eventID: "demo-\(userID)", source: "openedx/lms/demo.local"))
                }
            }
            try await group.waitForAll()
        }
        let bad: [[UInt8]] = [
            Array("{not json".utf8), Array(#"{"user_id": "7", "username": "x", "email": "y"}"#.utf8), [0xFF, 0xFE], Array(#"{"username": "x"}"#.utf8),
        ]
        for index in 0..<options.badRecords {
            try await producer.send(
                topic: topic, key: Array("7".utf8), value: bad[index % bad.count],
                headers: SampleEvents.headers(userID: 7, eventID: "demo-bad-\(index)", source: "openedx/lms/demo.local"))
        }
    }

    /// A Braze-shaped API: `POST /users/delete` with a Bearer key and at most 50 `external_ids`.
    final class LocalBrazeAPI: Sendable {
        let erased = Mutex<Set<Int>>([])
        let calls = Mutex<Int>(0)

        func answer(_ body: [UInt8], authorization: String?) -> HTTPResponse.Status {
            guard authorization == "Bearer demo-key" else { return .unauthorized }
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let ids = object["external_ids"] as? [String], !ids.isEmpty, ids.count <= 50
            else { return .badRequest }
            calls.withLock { $0 += 1 }
            erased.withLock { set in for id in ids { if let user = Int(id) { set.insert(user) } } }
            return .created
        }
    }

    static func startLocalServer(_ destinations: [LocalDestination], braze: LocalBrazeAPI) async throws -> Int {
        let router = Router()
        router.post("/braze/users/delete") { request, _ -> Response in
            var body = try await request.body.collect(upTo: 1 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            return Response(status: braze.answer(bytes, authorization: request.headers[.authorization]))
        }
        for destination in destinations {
            router.post("/\(destination.name)") { request, _ -> Response in
                var body = try await request.body.collect(upTo: 1 << 20)
                let bytes = body.readBytes(length: body.readableBytes) ?? []
                return Response(status: destination.answer(bytes))
            }
        }
        let port = try freeLocalPort()
        var quiet = Logger(label: "demo-destinations")
        quiet.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
        Task { try await app.runService(gracefulShutdownSignals: []) }
        guard await LocalPort.waitUntilAccepting(port, timeout: .seconds(10)) else {
            throw ServiceError("the demo's local destinations did not start on port \(port)")
        }
        return port
    }
}

/// A free TCP port on 127.0.0.1, or an error saying there is none.
func freeLocalPort() throws -> Int {
    guard let port = LocalPort.free() else { throw ServiceError("cannot find a free local port") }
    return port
}
