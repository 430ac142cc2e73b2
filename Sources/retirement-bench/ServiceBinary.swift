import Foundation

/// A `retirement-consumer` binary the `run` rows are measured with: the main one, or the
/// baseline (`--baseline-binary`) measured first, in a row of its own next to the main one's.
struct ServiceBinary {
    var url: URL
    var isBaseline: Bool

    /// Appended to the row's name.
    var suffix: String { isBaseline ? " [baseline]" : "" }
    /// Appended to the consumer group and to the config and log file names.
    var tag: String { isBaseline ? "-baseline" : "" }
}
