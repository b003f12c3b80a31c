using System.Runtime.InteropServices;
using FlashWal.Storage;

namespace FlashWal.Threading;

/// <summary>
/// What the kernel counts for the calling thread: its page faults (<c>getrusage(RUSAGE_THREAD)</c>),
/// the proof that the writer's hot path stores only into resident memory (tests and benchmarks).
/// </summary>
/// <remarks>
/// A guest whose hypervisor fills its own page tables lazily pays for that without the guest kernel
/// counting a fault: latencies show it, this count does not.
/// </remarks>
internal static class ThreadUsage
{
    private const int RusageThread = 1;

    /// <summary>Minor and major page faults of the calling thread so far. Linux only; allocates nothing.</summary>
    /// <exception cref="InvalidOperationException">The call failed (the message names the error).</exception>
    public static long PageFaults() =>
        NativeMethods.getrusage(RusageThread, out NativeMethods.Rusage usage) == 0
            ? usage.MinorFaults + usage.MajorFaults
            : throw new InvalidOperationException($"getrusage(RUSAGE_THREAD) failed: errno {Marshal.GetLastPInvokeError()}");
}
