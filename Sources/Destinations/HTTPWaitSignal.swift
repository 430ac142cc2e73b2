import Foundation

/// Parses the wait signals vendors send: `Retry-After` (delay-seconds or HTTP-date, RFC 9110
/// §10.2.3), and epoch-seconds or HTTP-date reset headers.
public enum HTTPWaitSignal {
    /// `Retry-After: 120` or `Retry-After: Fri, 31 Dec 1999 23:59:59 GMT`, relative to `now`.
    /// Dates in the past mean "now" (zero). Unparseable values give `nil`.
    public static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(trimmed), seconds >= 0 { return .seconds(seconds) }
        guard let date = httpDate(trimmed) else { return nil }
        return .milliseconds(max(0, Int64((date.timeIntervalSince(now) * 1000).rounded(.up))))
    }

    /// A reset time given as Unix epoch seconds (`X-RateLimit-Reset: 1700000000`), or as an
    /// HTTP-date; relative to `now`.
    public static func resetAt(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let epoch = Double(trimmed) {
            return .milliseconds(max(0, Int64(((epoch - now.timeIntervalSince1970) * 1000).rounded(.up))))
        }
        guard let date = httpDate(trimmed) else { return nil }
        return .milliseconds(max(0, Int64((date.timeIntervalSince(now) * 1000).rounded(.up))))
    }

    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz",  // IMF-fixdate
        "EEEE, dd-MMM-yy HH:mm:ss zzz",  // RFC 850
        "EEE MMM d HH:mm:ss yyyy",  // asctime
    ]

    /// An HTTP-date in any of the three forms RFC 9110 §5.6.7 lets a recipient accept.
    public static func httpDate(_ text: String) -> Date? {
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
