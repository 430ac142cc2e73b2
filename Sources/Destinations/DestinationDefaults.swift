/// Settings every destination shares, from `processing:`; factories read their defaults from them.
package struct DestinationDefaults: Sendable {
    /// `processing.call_timeout`: the default deadline of every destination call.
    package var callTimeout: Duration
    /// `processing.retry.max_retry_after`: the longest a vendor's wait signal may hold a destination.
    package var maxVendorWait: Duration

    package init(callTimeout: Duration = .seconds(30), maxVendorWait: Duration = .seconds(3600)) {
        self.callTimeout = callTimeout
        self.maxVendorWait = maxVendorWait
    }
}
