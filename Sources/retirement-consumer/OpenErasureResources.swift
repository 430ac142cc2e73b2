import ArgumentParser
import Logging
import ServiceRuntime

/// ``ErasureResources/open(configuration:only:apply:health:transport:logger:)`` for a command: a
/// `--destination` the configuration lacks is a usage error (exit 64), as a bad flag is.
func openErasureResources(_ config: ServiceConfiguration, only: [String], apply: Bool = true, logger: Logger) throws -> ErasureResources {
    do {
        return try ErasureResources.open(configuration: config, only: only, apply: apply, logger: logger)
    } catch let error as ServiceError where error.code == .usage {
        throw ValidationError(error.message)
    }
}
