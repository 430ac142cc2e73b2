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
/// `@unchecked Sendable`: set once while the service is built, before any work runs, and only
/// read afterwards.
final class EngineBox: @unchecked Sendable {
    var engine: DispatchEngine?
}
