import CRdKafka

/// Raw librdkafka configuration properties (`kafka.properties` in the config file), applied in
/// order over the wrapper's own defaults.
package struct KafkaProperties: Sendable, Equatable {
    package var values: [String: String]

    package init(_ values: [String: String] = [:]) {
        self.values = values
    }

    package subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Returns these properties with `other` applied on top.
    package func merging(_ other: [String: String]) -> KafkaProperties {
        KafkaProperties(values.merging(other) { _, new in new })
    }

    /// Every property librdkafka refuses (unknown name or invalid value), with its reason, without
    /// creating a client: configuration validation reports them with every other problem.
    package func refused() -> [(key: String, reason: String)] {
        var found: [(key: String, reason: String)] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let conf = rd_kafka_conf_new() else { return found }
            var errbuf = [CChar](repeating: 0, count: 512)
            if rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                found.append((key, errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }))
            }
            rd_kafka_conf_destroy(conf)
        }
        return found
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it. Unknown or invalid properties throw a
    /// configuration error naming the property.
    func makeConf() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.configuration("rd_kafka_conf_new failed")
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            var errbuf = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let text = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw KafkaError.configuration("kafka.properties.\(key): \(text)")
            }
        }
        return conf
    }
}
