import Foundation
import Metrics
import Synchronization

/// Turns librdkafka's statistics JSON into per-partition lag gauges and rebalance counts.
final class StatisticsReporter: Sendable {
    private let gauges = Mutex<[String: Gauge]>([:])

    func report(_ json: String) {
        guard let data = json.data(using: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let topics = root["topics"] as? [String: Any]
        else { return }
        for (topic, value) in topics {
            guard let topicStats = value as? [String: Any], let partitions = topicStats["partitions"] as? [String: Any] else { continue }
            for (partition, pValue) in partitions {
                guard partition != "-1", let stats = pValue as? [String: Any] else { continue }
                guard let lag = (stats["consumer_lag"] as? NSNumber)?.int64Value, lag >= 0 else { continue }
                gauge(topic: topic, partition: partition).record(lag)
            }
        }
    }

    private func gauge(topic: String, partition: String) -> Gauge {
        gauges.withLock { map in
            let key = "\(topic)/\(partition)"
            if let gauge = map[key] { return gauge }
            let gauge = Gauge(label: "retirement_partition_lag", dimensions: [("topic", topic), ("partition", partition)])
            map[key] = gauge
            return gauge
        }
    }
}
