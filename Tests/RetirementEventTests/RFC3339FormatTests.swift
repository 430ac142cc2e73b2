import Foundation
import RetirementEvent
import Testing

@Suite struct RFC3339FormatTests {
    @Test func utcMatchesISO8601DateFormatterAndParsesBack() {
        let formatter = ISO8601DateFormatter()
        var instants: [Double] = [0, 0.999, 59.5, 951_782_400, 1_709_164_800.25, 1_764_547_200, 4_102_444_799.9, 253_402_300_799, -1, -86_400.5]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(Double(state % 8_000_000_000) - 1_000_000_000 + Double(state % 1000) / 1000)
        }
        for instant in instants {
            let ours = RFC3339.utc(epochSeconds: instant)
            #expect(ours == formatter.string(from: Date(timeIntervalSince1970: instant)), "\(instant)")
            if instant >= 0 { #expect(RFC3339.parse(ours) == instant.rounded(.down)) }
        }
    }
}
