import ArgumentParser
import Destinations
import Engine
import Kafka
import Logging
import ServiceRuntime

/// Holds an optional processor across the dry-run branch.
struct EventProcessorBox {
    let value: EventProcessor
    init(_ value: EventProcessor) { self.value = value }
}
