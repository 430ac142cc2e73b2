/// A failure of the service or of an operator tool that is not librdkafka's: a read that stalls,
/// no free local port, a command line asking for a destination the configuration lacks.
/// `message` is what the operator reads (and the error's description).
package struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// The work failed (the command exits 1).
        case failure
        /// The command line asks for something the configuration does not have (the command
        /// reports it as a usage error, as for a bad flag: exit 64).
        case usage
    }

    package let code: Code
    package let message: String

    package init(_ message: String, code: Code = .failure) {
        self.message = message
        self.code = code
    }

    package var description: String { message }
}
