namespace FlashWal.Tests.Support;

/// <summary>
/// What the calling thread allocates over a window of work, as far as the runtime's counter
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) can say it.
/// </summary>
/// <remarks>
/// The counter over-reports now and then while other threads allocate: a thread that only read
/// <c>Stopwatch.GetTimestamp</c> for 2 ms, allocating nothing, saw it grow by 8,112 bytes (the unused
/// rest of one allocation context) in 2 to 6 of 100 windows while another thread allocated (2026-12-05,
/// .NET 10, workstation GC), with no collection counted in the window. The runtime's own test of the
/// counter fails the same way (dotnet/runtime#63487, #74388). So a zero-allocation test measures
/// several windows and takes the least: code that allocates on every call (or on every rotation, block
/// or segment a window spans) shows in each window, while the artifact hits all three about once in
/// a hundred thousand runs.
/// </remarks>
internal static class AllocationCounter
{
    /// <summary>How many windows a zero-allocation test measures.</summary>
    public const int Windows = 3;

    /// <summary>Runs <paramref name="window"/> <see cref="Windows"/> times; returns the least any run allocated.</summary>
    public static long Least(Action window)
    {
        long least = long.MaxValue;
        for (int i = 0; i < Windows; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
