import ConfigFile
import Engine
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Lets the rebalance handler reach the consumer it was created with.
final class ConsumerBox: @unchecked Sendable {
    var consumer: KafkaConsumer?
}
