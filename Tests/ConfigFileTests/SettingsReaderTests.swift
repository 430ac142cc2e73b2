import ConfigFile
import Testing

/// The typed readers: every problem names its full key path and why; a bad value reads as the default.
@Suite struct SettingsReaderTests {
    func reader(_ yaml: String) throws -> SettingsReader {
        let document = try ConfigLoader.parse(yaml: yaml, environment: [:])
        return SettingsReader(path: "", values: document.values, problems: document.problems)
    }

    @Test func wellFormedValuesAndDefaults() throws {
        let root = try reader(
            """
            section:
              count: 7
              ratio: 2
              flag: false
              wait: 250ms
              name: 42
              list: [a, b]
              map: {x: 1, y: true}
            """)
        let s = try #require(root.section("section"))
        #expect(s.int("count", default: 1, range: 1...10) == 7)
        #expect(s.double("ratio", default: nil) == 2)
        #expect(s.bool("flag", default: true) == false)
        #expect(s.duration("wait", default: .seconds(1)) == .milliseconds(250))
        #expect(s.string("name") == "42")
        #expect(s.stringList("list") == ["a", "b"])
        #expect(s.stringMap("map") == ["x": "1", "y": "true"])
        #expect(s.int("absent", default: 3) == 3)
        #expect(s.string("absent", or: "fallback") == "fallback")
        s.finish()
        root.finish()
        #expect(root.problems.isEmpty, "\(root.problems.messages)")
    }

    @Test func everyProblemNamesItsKey() throws {
        let root = try reader(
            """
            s:
              count: 0
              word: 5.5
              flag: "yes"
              wait: 20
              short: 10ms
              level: verbose
              typo: 1
              nested: [1]
              needed: ""
            """)
        let s = root.sectionOrEmpty("s")
        #expect(s.int("count", default: 4, range: 1...10) == 4)
        #expect(s.string("word") == nil)
        #expect(s.bool("flag", default: false) == false)
        #expect(s.duration("wait", default: .seconds(2)) == .seconds(2))
        #expect(s.duration("short", default: .seconds(2), minimum: .seconds(1)) == .seconds(2))
        #expect(s.choice("level", default: "info", ["info": 1, "debug": 2]) == 1)
        #expect(s.section("nested") == nil)
        _ = s.string("needed", required: true)
        _ = s.string("missing", required: true)
        s.finish()
        #expect(
            root.problems.messages == [
                "s.count: must be between 1 and 10, got 0",
                "s.word: must be a string, got a number",
                "s.flag: must be true or false, got a string",
                "s.wait: must be a duration like \"500ms\", \"30s\", \"5m\", got \"20\"",
                "s.short: must be at least 1.0 seconds",
                "s.level: must be info or debug, got \"verbose\"",
                "s.nested: must be a mapping, got a list",
                "s.needed: must not be empty",
                "s.missing: required",
                "s.typo: unknown key",
            ])
    }

    enum Colour: String, CaseIterable { case red, green, blue }

    @Test func choicesListEveryAllowedValue() throws {
        let root = try reader("colour: purple\n")
        #expect(root.choice("colour", default: Colour.green) == .green)
        #expect(root.problems.messages == ["colour: must be red, green or blue, got \"purple\""])
    }

    /// An absent optional section reads as an empty one (every default) under its own path; one that
    /// is not a mapping is a problem.
    @Test func absentSectionsReadAsEmpty() throws {
        let root = try reader("present: 5\n")
        let absent = root.sectionOrEmpty("absent")
        #expect(absent.path == "absent")
        #expect(absent.int("n", default: 9) == 9)
        #expect(root.problems.isEmpty)
        _ = root.sectionOrEmpty("present")
        #expect(root.problems.messages == ["present: must be a mapping, got an integer"])
    }

    @Test func listsOfSectionsAreIndexed() throws {
        let root = try reader("items:\n  - {a: 1}\n  - 2\n  - {b: x}\n")
        let items = root.sections("items")
        #expect(items.map(\.path) == ["items[0]", "items[2]"])
        #expect(root.problems.messages == ["items[1]: must be a mapping, got an integer"])
    }
}
