import Foundation

/// Parses the wait signals vendors send: `Retry-After` (delay-seconds or HTTP-date, RFC 9110
/// §10.2.3), and reset headers in epoch seconds, epoch milliseconds, seconds from now or HTTP-date.
/// Every result lies in `0...ceiling`: no header value can trap or overflow.
package enum HTTPWaitSignal {
    /// The longest wait a header can express here (a year). Longer or absurd values are cut to
    /// it, so no arithmetic on them can overflow; the destination caps them further at
    /// `processing.retry.max_retry_after`.
    package static let ceiling: Duration = .seconds(366 * 86_400)

    /// `Retry-After: 120` or `Retry-After: Fri, 31 Dec 1999 23:59:59 GMT`, relative to `now`.
    /// Dates in the past mean "now" (zero). Unparseable values give `nil`.
    package static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCIIDigit) {
            // Digits only: delay-seconds, however many digits.
            return Double(trimmed).map { clampedSeconds($0) }
        }
        guard let date = httpDate(trimmed) else { return nil }
        return clampedSeconds(date.timeIntervalSince(now))
    }

    /// A reset header (`X-RateLimit-Reset`): vendors send it in one of three units, told apart
    /// by size. At least 10^12: Unix epoch milliseconds; at least 10^9: Unix epoch seconds; smaller:
    /// seconds from now. An HTTP-date is accepted too. Relative to `now`; the past means zero.
    package static func resetAt(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let number = Double(trimmed), number.isFinite, number >= 0 {
            if number >= 1e12 { return clampedSeconds(number / 1000 - now.timeIntervalSince1970) }
            if number >= 1e9 { return clampedSeconds(number - now.timeIntervalSince1970) }
            return clampedSeconds(number)
        }
        guard let date = httpDate(trimmed) else { return nil }
        return clampedSeconds(date.timeIntervalSince(now))
    }

    /// Seconds as a duration in `0...ceiling`, rounded up to the millisecond.
    static func clampedSeconds(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        guard seconds < ceiling.seconds else { return ceiling }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz",  // IMF-fixdate
        "EEEE, dd-MMM-yy HH:mm:ss zzz",  // RFC 850
        "EEE MMM d HH:mm:ss yyyy",  // asctime
    ]

    /// An HTTP-date in any of the three forms RFC 9110 §5.6.7 lets a recipient accept.
    package static func httpDate(_ text: String) -> Date? {
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
