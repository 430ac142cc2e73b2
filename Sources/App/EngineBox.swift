import ConfigFile
import Destinations
import Engine
import Kafka
import Logging
import Prometheus
import RetirementEvent
import ServiceLifecycle
import UnixSignals

/// Breaks the cycle between the processor (built first) and the engine that runs it.
final class EngineBox: @unchecked Sendable {
    var engine: DispatchEngine?
}
