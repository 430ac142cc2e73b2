/// One consumed record handed to the engine.
package struct InboundRecord: Sendable {
    package var partition: PartitionID
    package var offset: Int64
    package var key: [UInt8]?
    package var value: [UInt8]?
    /// `nil` when the record has no headers at all.
    package var headers: (any RecordHeaderLookup)?
    /// Milliseconds since the epoch.
    package var timestamp: Int64?

    package init(
        partition: PartitionID, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: (any RecordHeaderLookup)?,
        timestamp: Int64? = nil
    ) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The first header with this name.
    package func header(_ name: String) -> [UInt8]? {
        headers?.headerValue(named: name)
    }
}
