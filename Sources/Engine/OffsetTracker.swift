/// Tracks the offsets of one partition that were begun and which of them are done, so the
/// committable offset never passes an unfinished event.
///
/// Offsets are begun in increasing order (gaps are fine: compaction, transaction markers) and may
/// finish in any order. The committable offset is the first begun offset not yet done, or one past
/// the last begun offset when all are done.
package struct OffsetTracker: Sendable {
    private var offsets: [Int64] = []
    private var done: [Bool] = []
    /// When each offset was begun (for the age of the oldest unfinished event).
    private var begunAt: [ContinuousClock.Instant] = []
    private var head = 0
    /// One past the last begun offset.
    package private(set) var nextOffset: Int64?

    package init() {}

    /// Offsets begun and not yet behind the committable point.
    package var pendingCount: Int { offsets.count - head }

    /// The offset to commit (the next one to consume), or `nil` when nothing was begun.
    package var committable: Int64? {
        head < offsets.count ? offsets[head] : nextOffset
    }

    /// Records that `offset` was handed out. Returns `false` (and ignores it) when the offset is
    /// not past the last begun one, i.e. a redelivery of something already tracked.
    @discardableResult
    package mutating func begin(_ offset: Int64, at time: ContinuousClock.Instant = .now) -> Bool {
        if let nextOffset, offset < nextOffset { return false }
        offsets.append(offset)
        done.append(false)
        begunAt.append(time)
        nextOffset = offset + 1
        return true
    }

    /// Marks `offset` done. Returns `true` when the committable offset moved.
    @discardableResult
    package mutating func finish(_ offset: Int64) -> Bool {
        guard let index = find(offset), !done[index] else { return false }
        done[index] = true
        guard index == head else { return false }
        while head < offsets.count, done[head] { head += 1 }
        compactIfNeeded()
        return true
    }

    /// The oldest unfinished offset (the committable one) and when it was begun; `nil` when every
    /// begun offset is done.
    package var oldestUnfinished: (offset: Int64, since: ContinuousClock.Instant)? {
        head < offsets.count ? (offsets[head], begunAt[head]) : nil
    }

    private func find(_ offset: Int64) -> Int? {
        var low = head
        var high = offsets.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if offsets[mid] == offset { return mid }
            if offsets[mid] < offset { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    private mutating func compactIfNeeded() {
        if head == offsets.count {
            offsets.removeAll(keepingCapacity: true)
            done.removeAll(keepingCapacity: true)
            begunAt.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= offsets.count {
            offsets.removeFirst(head)
            done.removeFirst(head)
            begunAt.removeFirst(head)
            head = 0
        }
    }
}
