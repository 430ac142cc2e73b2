/// One configured destination, read and validated, not built yet: validation reads settings
/// once and builds nothing; the service builds each destination once, when it starts.
package struct DestinationBlueprint: Sendable {
    package let name: String
    /// The `type:` it was configured with.
    package let type: String
    package let limits: DestinationLimits
    let make: @Sendable (DestinationContext) -> any Destination

    /// The destination behind its pipeline (batching, limits, deadline, circuit breaker).
    package func build(_ context: DestinationContext) -> DestinationPipeline {
        DestinationPipeline(destination: make(context), limits: limits, logger: context.logger)
    }
}
