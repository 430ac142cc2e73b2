/// A partition of a topic, as the engine knows it (no librdkafka types here).
public struct PartitionID: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A record header.
public struct RecordHeader: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

/// One consumed record handed to the engine.
public struct InboundRecord: Sendable {
    public var partition: PartitionID
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// `nil` when the record has no headers at all.
    public var headers: [RecordHeader]?
    /// Milliseconds since the epoch.
    public var timestamp: Int64?

    public init(
        partition: PartitionID, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]?,
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
    public func header(_ name: String) -> [UInt8]? {
        headers?.first(where: { $0.name == name })?.value
    }
}
