/// One mutable box for a value that closures built before it is known must reach: the engine
/// behind the processor's stall callback, the consumer behind its rebalance handler, and flags
/// the tests flip.
// Safe unchecked: every user sets `value` before the code that reads it runs (a test's flag at worst is read stale once).
package final class Unchecked<T>: @unchecked Sendable {
    package var value: T
    package init(_ value: T) { self.value = value }
}
