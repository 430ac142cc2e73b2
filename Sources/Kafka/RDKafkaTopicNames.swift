import CRdKafka

/// Topic names by librdkafka topic handle, so a consumed record shares its topic's `String`
/// instead of reading and validating the C string again. Used only by the polling thread, so
/// neither locked nor `Sendable`.
final class RDKafkaTopicNames {
    private var names: [UnsafeMutableRawPointer: String] = [:]
    private var last: (handle: OpaquePointer, name: String)?

    func name(of handle: OpaquePointer?) -> String {
        guard let handle else { return "" }
        if let last, last.handle == handle { return last.name }
        let key = UnsafeMutableRawPointer(handle)
        let name = names[key] ?? String(cString: rd_kafka_topic_name(handle))
        if names.count < 1024 { names[key] = name }
        last = (handle, name)
        return name
    }
}
