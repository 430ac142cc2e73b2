// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"])
]

let package = Package(
    name: "retirement-consumer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "retirement-consumer", targets: ["retirement-consumer"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // The C library as a module: module map + shim header, nothing else.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The configuration file: YAML, `_env`/`_file` indirection, durations, typed readers that
        // report every problem with its key. No service logic.
        .target(
            name: "ConfigFile",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Safe Swift over librdkafka: consumer, producer, mock cluster, errors, configuration.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The retirement event (docs/contract.md#event): decoding, validation, bad-input reasons.
        .target(
            name: "RetirementEvent",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: strict
        ),
        // Offsets, key-ordered dispatch, retries, dead-lettering. No librdkafka types.
        .target(
            name: "Engine",
            dependencies: [
                "RetirementEvent",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // The external systems a learner is erased from.
        .target(
            name: "Destinations",
            dependencies: [
                "ConfigFile",
                "Engine",
                "RetirementEvent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The running service: configuration, wiring (`RetirementService.build` and the shared
        // erasure resources of `run`, `replay` and `dlq redrive`), the ServiceGroup, the consumer
        // service, the health and metrics server, receipts and dead-letter sinks, logging.
        .target(
            name: "ServiceRuntime",
            dependencies: [
                "ConfigFile",
                "Kafka",
                "Engine",
                "Destinations",
                "RetirementEvent",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The operator tools' work: replay, dlq redrive/list, status, keys, check, demo, dev cluster,
        // topic reading and sample events. Built on ServiceRuntime, never the other way round.
        .target(
            name: "OperatorTools",
            dependencies: [
                "ServiceRuntime",
                "ConfigFile",
                "Kafka",
                "Engine",
                "Destinations",
                "RetirementEvent",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // @main and the subcommands; thin.
        .executableTarget(
            name: "retirement-consumer",
            dependencies: [
                "ServiceRuntime", "OperatorTools", "ConfigFile", "Engine", "Destinations", "Kafka", "RetirementEvent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // `scripts/benchmark.sh`: measured runs of the real binary against the mock cluster and local
        // HTTP servers (docs/performance.md). Not a test: built with everything, run only on demand.
        .executableTarget(
            name: "retirement-bench",
            dependencies: [
                "ServiceRuntime", "OperatorTools", "ConfigFile", "Kafka", "Destinations",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // `scripts/fuzz.sh`: seeded random fuzzing of the event decoder and the configuration loader.
        .executableTarget(
            name: "retirement-fuzz",
            dependencies: [
                "ServiceRuntime", "ConfigFile", "RetirementEvent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "ServiceRuntime",
                "OperatorTools",
                "ConfigFile",
                "Kafka",
                "RetirementEvent",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile"], swiftSettings: strict),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RetirementEventTests",
            dependencies: ["RetirementEvent", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "ServiceRuntime", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "DestinationsTests",
            dependencies: [
                "ConfigFile", "Destinations", "Engine", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServiceRuntimeTests",
            dependencies: [
                "ServiceRuntime", "OperatorTools", "ConfigFile", "Kafka", "Engine", "Destinations", "RetirementEvent", "TestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OperatorToolsTests",
            dependencies: ["OperatorTools", "RetirementEvent"],
            swiftSettings: strict
        ),
        // The retirement-consumer executable run as separate OS processes (suite `ProcessTests`).
        .testTarget(
            name: "RetirementConsumerTests",
            dependencies: [
                "ServiceRuntime", "OperatorTools", "ConfigFile", "Kafka", "Engine", "RetirementEvent", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // Real-broker tests: run only when KAFKA_BOOTSTRAP_SERVERS is set.
        .testTarget(name: "IntegrationTests", dependencies: ["Kafka", "TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
