import Foundation
import Kafka
import Logging
import UnixSignals

/// `dev-cluster`: hosts librdkafka's mock cluster for development and tests.
package enum DevCluster {
    package struct TopicSpec: Sendable {
        package var name: String
        package var partitions: Int32

        package init(name: String, partitions: Int32) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// Prints `BROKERS=<host:port,...>` first on stdout, then runs until SIGTERM, SIGINT or end of stdin.
    package static func run(brokers: Int32, topics: [TopicSpec], watchStdin: Bool, logger: Logger) async throws {
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        for topic in topics {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        FileHandle.standardOutput.write(Data("BROKERS=\(cluster.bootstrapServers)\n".utf8))
        logger.info("mock cluster running", metadata: ["brokers": "\(cluster.bootstrapServers)", "topics": "\(topics.map(\.name))"])
        let (stops, stop) = AsyncStream.makeStream(of: String.self)
        if watchStdin {
            let thread = Thread {
                while readLine(strippingNewline: false) != nil {}
                stop.yield("end of stdin")
            }
            thread.start()
        }
        let signals = Task {
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                stop.yield("\(signal)")
                return
            }
        }
        var reasons = stops.makeAsyncIterator()
        let reason = await reasons.next() ?? "?"
        signals.cancel()
        logger.info("stopping", metadata: ["reason": "\(reason)"])
        withExtendedLifetime(cluster) {}
        logger.info("mock cluster stopped")
    }
}
