import ArgumentParser
import Logging
import OperatorTools
import ServiceRuntime

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Per partition: committed offset, high watermark, lag.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try loadConfiguration(options.config, requireDestinations: false)
        LogSetup.bootstrap(format: .text, level: .warning)
        let inspector = try GroupInspector(
            bootstrapServers: config.kafka.bootstrapServers, groupID: config.kafka.groupID, topic: config.kafka.topic,
            properties: config.kafka.properties, logger: Logger(label: "status"))
        let rows = try inspector.status()
        print("group \(config.kafka.groupID), topic \(config.kafka.topic)")
        print(pad("partition", 10) + pad("committed", 14) + pad("high", 14) + "lag")
        for row in rows {
            print(pad("\(row.partition)", 10) + pad(row.committed.map(String.init) ?? "-", 14) + pad("\(row.high)", 14) + "\(row.lag)")
        }
        print("total lag: \(rows.map(\.lag).reduce(0, +))")
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
