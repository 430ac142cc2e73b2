import OperatorTools
import RetirementEvent
import Testing

/// The keyring audit behind `keys check` and the start-up check.
@Suite struct KeyringAuditTests {
    @Test func auditWarnsAboutKeysOlderThanTheLongestRetention() throws {
        let day = 86_400.0
        let now = RFC3339.parse("2026-12-31T00:00:00Z")!
        func key(_ id: String, _ created: String) throws -> Keyring.Key {
            try Keyring.Key(id: id, created: created, secret: [UInt8](repeating: 1, count: 32))
        }
        // k-a replaced by k-b 45 days ago: removable. k-b replaced by k-c 20 days ago: old, still needed.
        let ring = try Keyring(
            current: "k-c",
            keys: [try key("k-a", "2026-10-01T00:00:00Z"), try key("k-b", "2026-11-16T00:00:00Z"), try key("k-c", "2026-12-11T00:00:00Z")])
        let findings = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now)
        #expect(findings.map(\.keyID) == ["k-a", "k-b"])
        #expect(findings[0].message.contains("remove it from every keyring"))
        #expect(findings[1].message.contains("may remain until 2027-01-10T00:00:00Z"))
        // Removable now: a warning. Still needed until a date: a note (nothing to do before it).
        #expect(findings.map(\.level) == [.warning, .note])
        // The current key itself past retention: rotate.
        let stale = try Keyring(current: "k-a", keys: [try key("k-a", "2026-10-01T00:00:00Z")])
        #expect(KeyringAudit.check(stale, longestRetention: .seconds(30 * 86_400), now: now).first?.message.contains("generate a new current key") == true)
        // Young keys, no current key: only a note.
        let young = try Keyring(current: nil, keys: [try key("k-c", "2026-12-11T00:00:00Z")])
        #expect(KeyringAudit.check(young, longestRetention: .seconds(30 * 86_400), now: now).map(\.level) == [.note])
        #expect(KeyringAudit.check(young, longestRetention: .seconds(30 * 86_400), now: now + 40 * day).map(\.level) == [.note, .note])
    }

    /// A key that records still waiting in the topics are sealed under is never called
    /// removable; topics that could not be read confirm nothing.
    @Test func aKeyStillSealingWaitingRecordsIsNotRemovable() throws {
        let now = RFC3339.parse("2026-12-31T00:00:00Z")!
        func key(_ id: String, _ created: String) throws -> Keyring.Key {
            try Keyring.Key(id: id, created: created, secret: [UInt8](repeating: 1, count: 32))
        }
        let ring = try Keyring(current: "k-b", keys: [try key("k-a", "2026-10-01T00:00:00Z"), try key("k-b", "2026-11-16T00:00:00Z")])
        let used = KeyringAudit.check(
            ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .read(["k-a": ["user-retirement.dlq": 3]]))
        // k-b, the current key, is past the retention too: its own finding (rotate) is unchanged.
        let usedA = used.filter { $0.keyID == "k-a" }
        #expect(usedA.count == 1 && usedA[0].level == .warning && usedA[0].message.contains("do not remove it"), "\(used)")
        #expect(usedA[0].message.contains("3 in user-retirement.dlq") && !usedA[0].message.contains("remove it from every keyring"))
        let unread = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .unreadable("broker down"))
            .filter { $0.keyID == "k-a" }
        #expect(unread.count == 1 && unread[0].message.contains("could not be read") && !unread[0].message.contains("remove it from every keyring"))
        let clean = KeyringAudit.check(ring, longestRetention: .seconds(30 * 86_400), now: now, evidence: .read(["k-b": ["user-retirement": 1]]))
        #expect(clean.first { $0.keyID == "k-a" }?.message.contains("remove it from every keyring") == true)
    }
}
