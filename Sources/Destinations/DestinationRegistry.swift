import Logging

/// What a destination factory gets besides its own settings.
public struct DestinationContext: Sendable {
    public var transport: HTTPTransport
    public var logger: Logger
    /// `processing.call_timeout`: the default deadline of every destination call.
    public var callTimeout: Duration
    /// `processing.retry.max_retry_after`: the longest a vendor's wait signal may hold a destination.
    public var maxVendorWait: Duration

    public init(
        transport: HTTPTransport, logger: Logger, callTimeout: Duration = .seconds(30), maxVendorWait: Duration = .seconds(3600)
    ) {
        self.transport = transport
        self.logger = logger
        self.callTimeout = callTimeout
        self.maxVendorWait = maxVendorWait
    }
}

/// Builds a destination from its settings; reads every key it knows and reports problems.
public typealias DestinationFactory = @Sendable (SettingsReader, DestinationContext) -> (any Destination, DestinationLimits)?

/// The destination types by `type:` name. A new type is one line here.
public enum DestinationRegistry {
    public static let factories: [String: DestinationFactory] = [
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

    /// Builds every configured destination, with its limits (common keys: `concurrency`,
    /// `rate_limit_per_second`, `burst`, `batch_linger`, `circuit_failure_threshold`, `circuit_open_duration`,
    /// `call_timeout`).
    public static func build(_ readers: [SettingsReader], context: DestinationContext) -> [DestinationPipeline] {
        var pipelines: [DestinationPipeline] = []
        var names: Set<String> = []
        for reader in readers {
            let name = reader.string("name", required: true) ?? ""
            if !name.isEmpty {
                if !names.insert(name).inserted { reader.problems.add(reader.keyPath("name"), "duplicate destination name '\(name)'") }
                if name.contains(",") || name.contains(" ") {
                    reader.problems.add(reader.keyPath("name"), "must not contain commas or spaces")
                }
            }
            guard let type = reader.string("type", required: true) else { continue }
            guard let factory = factories[type] else {
                reader.problems.add(
                    reader.keyPath("type"), "unknown destination type '\(type)'; known: \(factories.keys.sorted().joined(separator: ", "))")
                continue
            }
            guard let (destination, defaults) = factory(reader, context) else { continue }
            let limits = DestinationLimits(
                concurrency: reader.int("concurrency", default: defaults.concurrency, range: 1...10_000),
                requestsPerSecond: reader.double("rate_limit_per_second", default: defaults.requestsPerSecond, range: 0.001...1_000_000),
                burst: reader.int("burst", default: defaults.burst, range: 1...100_000),
                linger: reader.duration("batch_linger", default: defaults.linger),
                circuitFailureThreshold: reader.int("circuit_failure_threshold", default: defaults.circuitFailureThreshold, range: 1...1_000_000),
                circuitOpenDuration: reader.duration("circuit_open_duration", default: defaults.circuitOpenDuration),
                callTimeout: reader.duration("call_timeout", default: context.callTimeout, minimum: .milliseconds(10)),
                maxVendorWait: context.maxVendorWait)
            reader.finish()
            pipelines.append(DestinationPipeline(destination: destination, limits: limits, logger: context.logger))
        }
        return pipelines
    }
}

extension WebhookDestination {
    /// `type: webhook`: `url` (required), `secret` (optional; use `secret_env` or `secret_file`).
    static let make: DestinationFactory = { reader, context in
        let name = reader.string("name") ?? ""
        let url = reader.string("url", required: !reader.has("base_url")) ?? reader.string("base_url") ?? ""
        reader.allow("base_url")
        let secret = reader.string("secret")
        if !url.isEmpty, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            reader.problems.add(reader.keyPath("url"), "must be an http:// or https:// URL")
        }
        let destination = WebhookDestination(name: name, url: url, secret: secret, transport: context.transport)
        return (destination, DestinationLimits(concurrency: 64))
    }
}
