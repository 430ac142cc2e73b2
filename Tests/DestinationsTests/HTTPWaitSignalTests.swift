import Destinations
import Foundation
import Testing

@Suite struct HTTPWaitSignalTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func retryAfterSeconds() {
        #expect(HTTPWaitSignal.retryAfter("120", now: now) == .seconds(120))
        #expect(HTTPWaitSignal.retryAfter(" 0 ", now: now) == .zero)
        #expect(HTTPWaitSignal.retryAfter("-5", now: now) == nil)
        #expect(HTTPWaitSignal.retryAfter("soon", now: now) == nil)
    }

    @Test func retryAfterHTTPDateInAllThreeForms() {
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(HTTPWaitSignal.retryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == .seconds(30))
        #expect(HTTPWaitSignal.retryAfter("Tuesday, 14-Nov-23 22:14:20 GMT", now: now) == .seconds(60))
        #expect(HTTPWaitSignal.retryAfter("Tue Nov 14 22:13:25 2023", now: now) == .seconds(5))
        #expect(HTTPWaitSignal.retryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == .zero)
    }

    @Test func resetHeaders() {
        #expect(HTTPWaitSignal.resetAt("1700000010", now: now) == .seconds(10))
        #expect(HTTPWaitSignal.resetAt("Tue, 14 Nov 2023 22:13:22 GMT", now: now) == .seconds(2))
    }

    @Test func resetHeadersInEveryUnit() {
        // Epoch milliseconds, epoch seconds, and seconds from now, told apart by size.
        #expect(HTTPWaitSignal.resetAt("1700000010000", now: now) == .seconds(10))
        #expect(HTTPWaitSignal.resetAt("1700000010", now: now) == .seconds(10))
        #expect(HTTPWaitSignal.resetAt("30", now: now) == .seconds(30))
        #expect(HTTPWaitSignal.resetAt("1699999999000", now: now) == .zero)
    }

    @Test func absurdValuesAreClampedNeverTrap() {
        let year = HTTPWaitSignal.ceiling
        #expect(HTTPWaitSignal.retryAfter("99999999999999999999999999999", now: now) == year)
        #expect(HTTPWaitSignal.retryAfter("9223372036854775807", now: now) == year)
        #expect(HTTPWaitSignal.resetAt("1e300", now: now) == year)
        #expect(HTTPWaitSignal.resetAt("nan", now: now) == nil)
        #expect(HTTPWaitSignal.resetAt("-1", now: now) == nil)
        #expect(HTTPWaitSignal.retryAfter("86400", now: now) == .seconds(86_400))
    }
}
