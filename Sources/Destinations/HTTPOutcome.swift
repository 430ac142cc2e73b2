import Engine
import Foundation

/// The common reading of HTTP answers (docs/contract.md#webhook-responses); vendors refine it where their docs differ.
package enum HTTPOutcome {
    /// 2xx erased; 404/410 already gone; 408/425/429/5xx transient (Retry-After honoured);
    /// 401/403 configuration error; other 4xx permanent.
    package static func classify(_ response: HTTPTransport.Response, now: Date = Date()) -> ErasureOutcome {
        classify(response, refused: "credentials or signature refused", waitSignal: waitSignal(response, now: now))
    }

    /// The same reading with a vendor's own words for a refused credential and its own wait signal.
    /// Reasons keep the status only: error bodies may echo an address.
    package static func classify(_ response: HTTPTransport.Response, refused: String, waitSignal: Duration?) -> ErasureOutcome {
        let status = response.status
        switch status {
        case 200..<300:
            return .erased(jobID: nil)
        case 404, 410:
            return .alreadyGone
        case 408, 425, 429, 500..<600:
            return .transient(reason: "HTTP \(status)", retryAfter: waitSignal)
        case 401, 403:
            return .configurationError(reason: "HTTP \(status): \(refused)")
        default:
            return .permanent(reason: "HTTP \(status)")
        }
    }

    /// `Retry-After` if present.
    package static func waitSignal(_ response: HTTPTransport.Response, now: Date = Date()) -> Duration? {
        response.header("Retry-After").flatMap { HTTPWaitSignal.retryAfter($0, now: now) }
    }

    /// A connection error or timeout: transient, with the error's type only (no URL, no body).
    package static func transportFailure(_ error: any Error) -> ErasureOutcome {
        .transient(reason: "connection failed: \(String(describing: type(of: error))) \(shortDescription(error))", retryAfter: nil)
    }

    private static func shortDescription(_ error: any Error) -> String {
        let text = String(describing: error)
        return String(text.prefix(120))
    }
}
