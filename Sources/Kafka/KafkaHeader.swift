/// One record header; a header may have no value.
package struct KafkaHeader: Sendable, Equatable {
    package var name: String
    package var value: [UInt8]?

    package init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    package init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }
}
