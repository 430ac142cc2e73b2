import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// glibc's allocator gives each thread that contends for it an arena of its own, up to 8 per
/// core, and memory freed in one arena is not reused by another: a service whose work hops
/// between the cooperative pool, NIO's event loops and librdkafka's threads keeps the peak of
/// each. Two arenas keep the resident set about 10 MB lower at 1,024 requests in flight with no
/// throughput lost in the benchmark (docs/performance.md#memory). `MALLOC_ARENA_MAX` in the
/// environment, when set, wins.
package enum MallocArenas {
    package static func limit(to arenas: Int32 = 2) {
        #if canImport(Glibc)
            guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
            // mallopt and M_ARENA_MAX (-8) come from <malloc.h>, which the Glibc module does not export.
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            _ = unsafeBitCast(symbol, to: MallOpt.self)(-8, arenas)
        #endif
    }
}
