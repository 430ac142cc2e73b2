import ConfigFile
import Engine
import Foundation
import NIOHTTP1

/// A connection error or timeout, already classified as transient.
struct TransportFailure: Error {
    var outcome: ErasureOutcome
}
