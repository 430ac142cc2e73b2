import ConfigFile
import Engine
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Lets the rebalance handler reach the consumer it was created with.
/// `@unchecked Sendable`: set once, before the consumer is subscribed (so before any rebalance
/// handler runs), and only read afterwards.
final class ConsumerBox: @unchecked Sendable {
    var consumer: KafkaConsumer?
}
