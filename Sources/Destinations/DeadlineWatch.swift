import Synchronization

/// The deadlines of a destination's calls, watched by one task that wakes every `tick` while any
/// is pending (and ends when none is). A sleeping task per call would cost a timer per call that
/// stays registered until its full deadline even when the call ended long before, which at
/// thousands of calls a second is memory and CPU for nothing.
final class DeadlineWatch: Sendable {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var onExpiry: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var watching = false
        var closed = false
    }

    private let state = Mutex(State())
    private let tick: Duration

    init(tick: Duration = .milliseconds(20)) {
        self.tick = tick
    }

    /// Calls `onExpiry` once `deadline` passed, unless ``cancel(_:)`` came first (within `tick`).
    func add(deadline: ContinuousClock.Instant, onExpiry: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, startWatcher) = state.withLock { state -> (UInt64, Bool) in
            state.nextID += 1
            state.entries[state.nextID] = Entry(deadline: deadline, onExpiry: onExpiry)
            let start = !state.watching && !state.closed
            if start { state.watching = true }
            return (state.nextID, start)
        }
        if startWatcher { Task { await self.watch() } }
        return id
    }

    /// The call ended in time: its deadline no longer matters.
    func cancel(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Stops watching (the destination shuts down); pending deadlines never fire.
    func close() {
        state.withLock { state in
            state.closed = true
            state.entries.removeAll()
        }
    }

    private func watch() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let expired = state.withLock { state -> [Entry]? in
                let due = state.entries.filter { $0.value.deadline <= now }
                for id in due.keys { state.entries.removeValue(forKey: id) }
                if state.entries.isEmpty || state.closed {
                    state.watching = false
                    return due.isEmpty ? nil : Array(due.values)
                }
                return Array(due.values)
            }
            for entry in expired ?? [] { entry.onExpiry() }
            let stop = state.withLock { !$0.watching }
            if stop { return }
        }
    }
}
