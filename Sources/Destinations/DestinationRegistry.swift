import ConfigFile
import Engine
import RetirementEvent

/// Reads one destination's settings (every key it knows; problems go to the reader) and returns
/// how to build it and its default limits, or `nil` when the settings cannot make one.
package typealias DestinationFactory =
    @Sendable (SettingsReader, DestinationDefaults) -> (
        make: @Sendable (DestinationContext) -> any Destination, limits: DestinationLimits
    )?

/// The destination types by `type:` name. A new type is one line here.
package enum DestinationRegistry {
    package static let factories: [String: DestinationFactory] = [
        "webhook": WebhookDestination.make,
        "braze": BrazeDestination.make,
        "amplitude": AmplitudeDestination.make,
        "segment": SegmentDestination.make,
        "hubspot": HubSpotDestination.make,
        "mailchimp": MailchimpDestination.make,
        "sendgrid": SendGridDestination.make,
        "salesforce": SalesforceDestination.make,
        "sql": SQLDestination.make,
        "noop": NoopDestination.make,
    ]

    /// Reads every configured destination with its limits (common keys: `concurrency`,
    /// `rate_limit_per_second`, `burst`, `batch_linger`, `circuit_failure_threshold`,
    /// `circuit_open_duration`, `call_timeout`); problems go to the readers' ``ConfigProblems``.
    package static func read(_ readers: [SettingsReader], defaults: DestinationDefaults) -> [DestinationBlueprint] {
        var blueprints: [DestinationBlueprint] = []
        var names: Set<String> = []
        for reader in readers {
            let name = reader.string("name", required: true) ?? ""
            if !name.isEmpty {
                if !names.insert(name).inserted { reader.problems.add(reader.keyPath("name"), "duplicate destination name '\(name)'") }
                if name.contains(",") || name.contains(" ") {
                    reader.problems.add(reader.keyPath("name"), "must not contain commas or spaces")
                }
                if BadInput.isCode(name) || name == DeadLetterContract.destinationFailed {
                    reader.problems.add(reader.keyPath("name"), "must not be a dead-letter reason code ('\(name)')")
                }
            }
            guard let type = reader.string("type", required: true) else { continue }
            guard let factory = factories[type] else {
                reader.problems.add(
                    reader.keyPath("type"), "unknown destination type '\(type)'; known: \(factories.keys.sorted().joined(separator: ", "))")
                continue
            }
            guard let (make, typeDefaults) = factory(reader, defaults) else { continue }
            let limits = DestinationLimits(
                concurrency: reader.int("concurrency", default: typeDefaults.concurrency, range: 1...10_000),
                requestsPerSecond: reader.double(
                    "rate_limit_per_second", default: typeDefaults.requestsPerSecond, range: 0.001...1_000_000),
                burst: reader.int("burst", default: typeDefaults.burst, range: 1...100_000),
                linger: reader.duration("batch_linger", default: typeDefaults.linger),
                circuitFailureThreshold: reader.int(
                    "circuit_failure_threshold", default: typeDefaults.circuitFailureThreshold, range: 1...1_000_000),
                circuitOpenDuration: reader.duration("circuit_open_duration", default: typeDefaults.circuitOpenDuration),
                callTimeout: reader.duration("call_timeout", default: defaults.callTimeout, minimum: .milliseconds(10)),
                maxVendorWait: defaults.maxVendorWait)
            reader.finish()
            blueprints.append(DestinationBlueprint(name: name, type: type, limits: limits, make: make))
        }
        return blueprints
    }

    /// Reads and builds in one step (tools and tests that have settings in hand).
    package static func build(
        _ readers: [SettingsReader], defaults: DestinationDefaults = DestinationDefaults(), context: DestinationContext
    ) -> [DestinationPipeline] {
        read(readers, defaults: defaults).map { $0.build(context) }
    }
}

extension WebhookDestination {
    /// `type: webhook`: `url` (required; `https://`, or `http://` to loopback unless
    /// `allow_insecure_http`), `secret` (optional, at least 32 bytes; `whsec_<base64>` or
    /// text; use `secret_env` or `secret_file`), `batch_size` (default 1: one event per request;
    /// 2–1000: batched requests, docs/contract.md#webhook-batches).
    static let make: DestinationFactory = { reader, defaults in
        let name = reader.string("name") ?? ""
        let urlKey = reader.has("base_url") && !reader.has("url") ? "base_url" : "url"
        let url = reader.string("url", required: !reader.has("base_url")) ?? reader.string("base_url") ?? ""
        reader.allow("base_url")
        HTTPURLRule.check(url, key: urlKey, reader: reader)
        var signingKey: [UInt8]?
        if let secret = reader.string("secret"), secret != ConfigValue.unresolvedText {
            switch WebhookSigner.key(fromSecret: secret) {
            case .success(let bytes): signingKey = bytes
            case .failure(let problem): reader.problems.add(reader.keyPath("secret"), problem.description)
            }
        }
        let key = signingKey
        let batchSize = reader.int("batch_size", default: 1, range: 1...WebhookBatchDestination.maxBatchSize)
        guard batchSize > 1 else {
            return (
                { context in WebhookDestination(name: name, url: url, signingKey: key, transport: context.transport) },
                DestinationLimits(concurrency: 64)
            )
        }
        return (
            { context in
                WebhookBatchDestination(name: name, url: url, batchSize: batchSize, signingKey: key, transport: context.transport)
            }, DestinationLimits(concurrency: 16, linger: .milliseconds(50))
        )
    }
}
