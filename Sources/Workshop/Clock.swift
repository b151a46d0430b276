import Glibc

/// Milliseconds on CLOCK_MONOTONIC: for durations (an unpack, --stats ticks), never
/// moved by a change of the wall clock.
public func monotonicMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
}
