@_spi(ExperimentalScheduling) import _Concurrency

/// The simulator's task executor: every job of the simulated world lands in its scheduler's
/// ready queue, and only the scheduler's driver loop runs it, on the simulator thread.
///
/// Give it as the root task's preference (the scheduler does) and as `TaskSpawner.executor`
/// for unstructured tasks; child tasks and default actors then follow it.
final class SimTaskExecutor: TaskExecutor, Sendable {
    // Strong: an executor outliving its run (held by an abandoned task) must still reach a
    // scheduler that files the job away instead of a freed one.
    let scheduler: SimScheduler

    init(scheduler: SimScheduler) { self.scheduler = scheduler }

    func enqueue(_ job: consuming ExecutorJob) {
        scheduler.enqueue(UnownedJob(job))
    }
}

/// Swift 6.2+ sends `Task.sleep` and system-clock sleeps to the current task executor when it
/// can schedule delayed work (an experimental SPI). Conforming turns such a real-time sleep
/// into a named escape instead of a silent wait on the wall clock that a seed cannot replay.
extension SimTaskExecutor: SchedulingExecutor {
    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        scheduler.realTimeSleep(UnownedJob(job), clock: "\(C.self)")
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        scheduler.realTimeSleep(UnownedJob(job), clock: "\(C.self)")
    }
}
