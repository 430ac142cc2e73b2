import ConfigFile
import Destinations
import Foundation
import Kafka
import Logging
import NIOHTTP1
import ServiceRuntime
import Synchronization

/// One row of the result table.
struct Row {
    var section: String
    var name: String
    var events: Int
    var seconds: Double
    var rate: Double
    var reference: String
    var ratio: Double?
    var goal: String
    var met: Bool?
    var note: String = ""
}
