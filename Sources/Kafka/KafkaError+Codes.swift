import CRdKafka

extension KafkaError {
    /// Broker error codes useful for injection in tests.
    package enum Code {
        package static let rebalanceInProgress = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue
        package static let notCoordinator = RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue
        package static let coordinatorNotAvailable = RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue
        package static let requestTimedOut = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
        package static let notEnoughReplicas = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue
        package static let transport = RD_KAFKA_RESP_ERR__TRANSPORT.rawValue
        package static let unknownTopicOrPartition = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue
        package static let topicAuthorizationFailed = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
    }
}
