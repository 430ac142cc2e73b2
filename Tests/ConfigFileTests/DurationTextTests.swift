import ConfigFile
import Testing

@Suite struct DurationTextTests {
    @Test func durations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("1.5h") == .seconds(5400))
        #expect(DurationText.parse("7d") == .seconds(604_800))
        #expect(DurationText.parse("5") == nil)
        #expect(DurationText.parse("-1s") == nil)
    }
}
