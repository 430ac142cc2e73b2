import Engine
import Foundation
import Kafka
import Logging

/// Writes erasure receipts as log lines and/or JSON records on a Kafka topic (key: user id).
/// A receipt holds ids, the destination and the outcome: never the email or name.
public struct ErasureReceiptWriter: ReceiptSink {
    public var producer: KafkaProducer?
    public var topic: String?
    public var logger: Logger?

    public init(producer: KafkaProducer?, topic: String?, logger: Logger?) {
        self.producer = producer
        self.topic = topic
        self.logger = logger
    }

    public static func json(_ receipt: ErasureReceipt) -> [UInt8] {
        var object: [String: Any] = [
            "event_id": receipt.eventID, "user_id": receipt.userID, "destination": receipt.destination,
            "outcome": receipt.outcome, "attempts": receipt.attempts,
            "time": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: receipt.time)),
        ]
        if let jobID = receipt.jobID { object["job_id"] = jobID }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    public func record(_ receipt: ErasureReceipt) async {
        logger?.info("erasure receipt", metadata: [
            "receipt.event_id": "\(receipt.eventID)", "receipt.user_id": "\(receipt.userID)",
            "receipt.destination": "\(receipt.destination)", "receipt.outcome": "\(receipt.outcome)",
            "receipt.job_id": "\(receipt.jobID ?? "")", "receipt.attempts": "\(receipt.attempts)",
        ])
        guard let producer, let topic else { return }
        // A receipt is evidence, not the erasure itself: a failed write is retried a few times
        // and logged, and never holds the event back.
        for attempt in 1...5 {
            do {
                try await producer.send(topic: topic, key: Array(String(receipt.userID).utf8), value: ErasureReceiptWriter.json(receipt))
                return
            } catch {
                logger?.warning("receipt write failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }
}
