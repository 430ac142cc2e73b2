/// A record's headers as the engine reads them: by name, or all in record order. The consumer
/// hands its packed headers over as they are (no copy per header); tests and tools use an array
/// of ``RecordHeader``.
package protocol RecordHeaderLookup: Sendable {
    /// The value of the first header with this name (`nil` when absent or without a value).
    func headerValue(named name: String) -> [UInt8]?
    /// Every header, in record order.
    var allHeaders: [RecordHeader] { get }
}

extension Array: RecordHeaderLookup where Element == RecordHeader {
    package func headerValue(named name: String) -> [UInt8]? {
        first(where: { $0.name == name })?.value
    }

    package var allHeaders: [RecordHeader] { self }
}
