import Foundation
import Logging

/// The last resort of a stop: at the stop deadline (SIGTERM + `shutdown_grace` +
/// `commit_timeout` + 7 s) the process exits 1, whatever it still waits for. Every step of the
/// stop is bounded on its own and normally ends well before; this catches a wait nobody
/// foresaw (a C call that ignores its timeout), so the deploy's SIGKILL never comes first.
/// Exiting loses nothing: offsets are committed only for finished work, so what is unfinished
/// is redelivered to the next owner.
enum StopWatchdog {
    /// Starts a thread that ends the process at `deadline` unless it exited before.
    static func arm(deadline: ContinuousClock.Instant, logger: Logger) {
        let thread = Thread {
            let wait = deadline - .now
            if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
            logger.critical("the stop budget is spent; exiting now (unfinished work is uncommitted and will be redelivered)")
            _exit(1)
        }
        thread.name = "stop-watchdog"
        thread.start()
    }
}
