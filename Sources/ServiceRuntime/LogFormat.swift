/// `logging.format`.
package enum LogFormat: String, CaseIterable, Sendable {
    /// One JSON object per line.
    case json
    /// swift-log's plain text.
    case text
}
