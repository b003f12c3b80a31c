namespace FlashWal.Storage;

/// <summary>
/// How the recorder's staging ring (the resident memory the writer builds blocks in) is made
/// resident when the recorder opens. It matters for the ring's first lap only: after it the writer
/// stores only into pages it has stored into before.
/// </summary>
public enum PrefaultMode
{
    /// <summary>
    /// <see cref="PopulateWrite"/> where the kernel has it, then a check: a store into each of 64 pages
    /// is timed, and where the median still looks like a fault (a hypervisor that fills its own page
    /// tables lazily) every page is written (<see cref="Touch"/>). Otherwise <see cref="Touch"/>.
    /// </summary>
    Auto = 0,

    /// <summary>One <c>madvise(MADV_POPULATE_WRITE)</c> call over the whole ring (Linux 5.14+).</summary>
    PopulateWrite = 1,

    /// <summary>Write one byte of every page.</summary>
    Touch = 2,

    /// <summary>No prefault: each page faults at its first store, on the writer's first lap (the slow baseline).</summary>
    None = 3,
}
