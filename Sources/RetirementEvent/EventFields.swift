/// The members of an event's value that the decoder reads, in fixed slots: the parser fills
/// them without building a dictionary (other members are checked and dropped).
struct EventFields {
    /// A record's value as ``JSONParser/parseEvent(_:)`` reads it.
    enum Parsed {
        case fields(EventFields)
        /// Valid JSON that is not an object.
        case notAnObject(JSONValue)
    }

    /// Every member the decoder reads; the order gives each its slot.
    static let names: [String] = [
        "user_id", "username", "email", "full_name", "retired_username", "retired_email", "retirement_id", "requested_at", "encrypted",
    ]

    var values = InlineArray<9, JSONValue?>(repeating: nil)

    /// The slot of a member name, or `nil` for a member the decoder does not read.
    static func slot(_ name: String) -> Int? {
        switch name {
        case "user_id": 0
        case "username": 1
        case "email": 2
        case "full_name": 3
        case "retired_username": 4
        case "retired_email": 5
        case "retirement_id": 6
        case "requested_at": 7
        case "encrypted": 8
        default: nil
        }
    }

    /// A member by name (`nil` when absent, or not one the decoder reads).
    subscript(name: String) -> JSONValue? {
        get { Self.slot(name).flatMap { values[$0] } }
        set {
            guard let slot = Self.slot(name) else { return }
            values[slot] = newValue
        }
    }
}
