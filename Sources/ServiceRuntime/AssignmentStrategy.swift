/// `kafka.assignment_strategy`: how partitions are spread over the group's members.
package enum AssignmentStrategy: String, CaseIterable, Sendable {
    /// Eager; the default (librdkafka 2.0.2's cooperative-sticky has known bugs).
    case range
    case roundrobin
    case cooperativeSticky = "cooperative-sticky"
}
