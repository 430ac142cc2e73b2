import Engine
import Testing

@Suite struct OffsetTrackerTests {
    @Test func nothingBegunHasNoCommittableOffset() {
        let tracker = OffsetTracker()
        #expect(tracker.committable == nil)
    }

    @Test func outOfOrderCompletionNeverPassesAnUnfinishedOffset() {
        var tracker = OffsetTracker()
        for offset in 10...14 { tracker.begin(Int64(offset)) }
        #expect(tracker.committable == 10)
        let r468789 = tracker.finish(12)
        #expect(r468789 == false)
        let r611556 = tracker.finish(14)
        #expect(r611556 == false)
        #expect(tracker.committable == 10)
        let r261471 = tracker.finish(10)
        #expect(r261471)
        #expect(tracker.committable == 11)
        let r646411 = tracker.finish(11)
        #expect(r646411)
        #expect(tracker.committable == 13)
        let r741071 = tracker.finish(13)
        #expect(r741071)
        #expect(tracker.committable == 15)
        #expect(tracker.pendingCount == 0)
    }

    @Test func gapsInOffsetsAreSkipped() {
        var tracker = OffsetTracker()
        tracker.begin(5)
        tracker.begin(9)
        tracker.begin(20)
        tracker.finish(9)
        #expect(tracker.committable == 5)
        tracker.finish(5)
        #expect(tracker.committable == 20)
        tracker.finish(20)
        #expect(tracker.committable == 21)
    }

    @Test func redeliveriesAndUnknownOffsetsAreIgnored() {
        var tracker = OffsetTracker()
        let r160438 = tracker.begin(3)
        #expect(r160438)
        let r708902 = tracker.begin(3)
        #expect(r708902 == false)
        let r961121 = tracker.begin(2)
        #expect(r961121 == false)
        let r760366 = tracker.finish(99)
        #expect(r760366 == false)
        let r54182 = tracker.finish(3)
        #expect(r54182)
        let r741540 = tracker.finish(3)
        #expect(r741540 == false)
        #expect(tracker.committable == 4)
    }

    @Test func largeRandomOrderMatchesAModel() {
        var tracker = OffsetTracker()
        var generator = SystemRandomNumberGenerator()
        let offsets = (0..<5000).map { Int64($0 * 2) }
        for offset in offsets { tracker.begin(offset) }
        var done = Set<Int64>()
        for offset in offsets.shuffled(using: &generator) {
            tracker.finish(offset)
            done.insert(offset)
            let expected = offsets.first(where: { !done.contains($0) }) ?? (offsets.last! + 1)
            if done.count % 97 == 0 || done.count == offsets.count {
                #expect(tracker.committable == expected)
            }
        }
        let final = tracker.committable
        #expect(final == Int64(9999))
    }
}
