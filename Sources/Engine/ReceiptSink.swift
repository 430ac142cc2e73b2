/// Receives receipts; implementations write them to a Kafka topic and/or the log.
package protocol ReceiptSink: Sendable {
    /// Takes the receipt without waiting for it to be written: a receipt never holds an erasure back.
    func record(_ receipt: ErasureReceipt)
}
