/// A record header.
package struct RecordHeader: Sendable, Equatable {
    package var name: String
    package var value: [UInt8]?

    package init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
