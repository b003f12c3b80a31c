namespace FlashWal.Storage;

/// <summary>How a new segment's pages are faulted in for writing before the first append.</summary>
public enum PrefaultMode
{
    /// <summary><see cref="PopulateWrite"/> where the kernel has it, otherwise <see cref="Touch"/>.</summary>
    Auto = 0,

    /// <summary>One <c>madvise(MADV_POPULATE_WRITE)</c> call over the whole mapping (Linux 5.14+).</summary>
    PopulateWrite = 1,

    /// <summary>Read and write back one byte per page.</summary>
    Touch = 2,

    /// <summary>No pre-faulting: each page faults on its first append (the slow baseline).</summary>
    None = 3,
}
