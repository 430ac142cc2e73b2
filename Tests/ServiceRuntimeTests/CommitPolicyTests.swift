import Engine
import Kafka
import ServiceRuntime
import Testing

/// The commit rule in one place: what each moment stores and commits, which failures are retried,
/// and the offsets it commits (the first one not done, never past unfinished work).
@Suite struct CommitPolicyTests {
    @Test func eachMomentStoresAndCommitsAsTheContractSays() {
        let timeout = Duration.seconds(5)
        #expect(CommitPolicy.rule(for: .workFinished, commitTimeout: timeout) == CommitRule(store: true, commit: .none))
        #expect(CommitPolicy.rule(for: .revoke, commitTimeout: timeout) == CommitRule(store: true, commit: .once(within: timeout)))
        // Close commits the stored offsets itself; a commit from its revoke could reach an ended group.
        #expect(CommitPolicy.rule(for: .revokeInClose, commitTimeout: timeout) == CommitRule(store: true, commit: .none))
        #expect(
            CommitPolicy.rule(for: .shutdown, commitTimeout: timeout)
                == CommitRule(store: true, commit: .retried(within: timeout, every: .milliseconds(200))))
        #expect(CommitPolicy.autoCommitIntervalProperty == "200")
    }

    @Test func aRebalanceIsNeverRetriedOtherRetriableFailuresAre() {
        let rebalancing = KafkaError(code: KafkaError.Code.rebalanceInProgress, message: "commit: rebalance in progress")
        let coordinatorMoved = KafkaError(code: KafkaError.Code.notCoordinator, message: "commit: not coordinator")
        let refused = KafkaError(code: KafkaError.Code.topicAuthorizationFailed, message: "commit: not authorized")
        #expect(CommitPolicy.retries(after: rebalancing) == false)
        #expect(coordinatorMoved.isRetriable)
        #expect(CommitPolicy.retries(after: coordinatorMoved))
        #expect(CommitPolicy.retries(after: refused) == false)
    }

    @Test func theToolsCommitTheFirstOffsetNotDone() {
        var done = OffsetTracker()
        for offset: Int64 in 10..<13 { done.begin(offset) }
        for offset: Int64 in 10..<13 { done.finish(offset) }
        var stuck = OffsetTracker()
        for offset: Int64 in 5..<9 { stuck.begin(offset) }
        stuck.finish(5)
        stuck.finish(7)
        let untouched = OffsetTracker()
        let offsets = CommitPolicy.offsets([0: done, 1: stuck, 2: untouched], topic: "t").sorted { $0.topicPartition.partition < $1.topicPartition.partition }
        #expect(offsets.map(\.topicPartition.partition) == [0, 1])
        #expect(offsets.map(\.offset) == [13, 6])
        #expect(offsets.allSatisfy { $0.topicPartition.topic == "t" })
    }
}
