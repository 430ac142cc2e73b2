import Foundation
import RetirementEvent

/// `keys check` and the start-up check: what an operator should do about a keyring's ages
/// (docs/encryption.md, docs/runbook.md "Key rotation"). Never looks at secrets.
package enum KeyringAudit {
    /// One line for the operator; `warning` lines make `keys check --strict` fail.
    package struct Finding: Sendable, Equatable, CustomStringConvertible {
        package enum Level: String, Sendable { case note, warning }
        package var level: Level
        package var keyID: String?
        package var message: String
        package var description: String { "\(level.rawValue): \(message)" }
    }

    /// - Parameters:
    ///   - longestRetention: the longest any event can stay in the topics (default: the dead-letter topic's 30 days).
    ///   - now: seconds since the epoch.
    ///   - evidence: the keys that records still waiting in the topics are sealed under; a key
    ///     they use is never called removable.
    package static func check(
        _ keyring: Keyring, longestRetention: Duration, now: Double, evidence: KeyUsageScan.Evidence = .notChecked
    ) -> [Finding] {
        let retention = Double(longestRetention.components.seconds)
        let retentionText = days(retention)
        var findings: [Finding] = []
        if keyring.current == nil {
            findings.append(
                Finding(level: .note, keyID: nil, message: "no current key: enough to decrypt, but a producer cannot encrypt with this keyring"))
        }
        let byAge = keyring.keys.sorted { $0.createdAt < $1.createdAt }
        for key in keyring.keys {
            let age = now - key.createdAt
            if age < -300 {
                findings.append(
                    Finding(level: .warning, keyID: key.id, message: "key '\(key.id)' is created in the future (\(key.created)): check the clock or the date"))
                continue
            }
            guard age > retention else { continue }
            if key.id == keyring.current {
                findings.append(
                    Finding(
                        level: .warning, keyID: key.id,
                        message:
                            "current key '\(key.id)' is \(days(age)) old, older than the longest retention (\(retentionText)): generate a new current key (keys generate --make-current), deploy it to the consumers, then to the producers"
                    ))
                continue
            }
            // Events under this key were produced until its successor became current.
            let successor = byAge.first { $0.createdAt > key.createdAt }
            if let successor, now - successor.createdAt > retention, case .read(let usage) = evidence, let topics = usage[key.id] {
                let places = topics.sorted { $0.key < $1.key }.map { "\($0.value) in \($0.key)" }.joined(separator: ", ")
                findings.append(
                    Finding(
                        level: .warning, keyID: key.id,
                        message:
                            "key '\(key.id)' is past the longest retention but still seals records waiting in the topics (\(places)): do not remove it; settle them first (dlq redrive, or let the service consume them): removing the key would shred erasures still owed"
                    ))
            } else if let successor, now - successor.createdAt > retention, case .unreadable(let why) = evidence {
                findings.append(
                    Finding(
                        level: .warning, keyID: key.id,
                        message:
                            "key '\(key.id)' was replaced by '\(successor.id)' longer ago than the longest retention (\(retentionText)), but the topics could not be read (\(why)): run keys check --config again with Kafka reachable before removing it"
                    ))
            } else if let successor, now - successor.createdAt > retention {
                findings.append(
                    Finding(
                        level: .warning, keyID: key.id,
                        message:
                            "key '\(key.id)' is \(days(age)) old and was replaced by '\(successor.id)' \(days(now - successor.createdAt)) ago, longer than the longest retention (\(retentionText)): remove it from every keyring to shred the events encrypted under it"
                    ))
            } else {
                // Nothing to do before that date: a note, so `keys check --strict` stays green
                // between a rotation and the shredding it allows.
                let until = (successor?.createdAt ?? now) + retention
                findings.append(
                    Finding(
                        level: .note, keyID: key.id,
                        message:
                            "key '\(key.id)' is \(days(age)) old, older than the longest retention (\(retentionText)); events encrypted under it may remain until \(rfc3339Seconds(until)): remove it after that date"
                    ))
            }
        }
        return findings
    }

    /// `12 days`, `3.5 days`.
    package static func days(_ seconds: Double) -> String {
        let value = seconds / 86_400
        return value >= 10 ? "\(Int(value.rounded())) days" : String(format: "%.1f days", value)
    }

    static func rfc3339Seconds(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds.rounded(.down)))
    }

    /// Now as RFC 3339 (UTC, seconds).
    package static func nowRFC3339() -> String { rfc3339Seconds(Date().timeIntervalSince1970) }
}
