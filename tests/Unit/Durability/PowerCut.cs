namespace FlashWal.Tests.Durability;

/// <summary>What a power cut keeps of the state a <see cref="SimulatedDisk"/> modelled (issue 14, the simulator's models).</summary>
internal enum PowerCutModel
{
    /// <summary>
    /// Names, renames, deletes and file sizes are durable at once (as a journalling file system that
    /// orders metadata mostly behaves); file data only through the syncs that covered it.
    /// </summary>
    Plain,

    /// <summary>
    /// POSIX at its strictest: a name created, renamed or deleted is durable only after an fsync of its
    /// directory, and a file's size only after an fsync (or msync) of the file; data as in <see cref="Plain"/>.
    /// </summary>
    StrictDirectories,

    /// <summary>
    /// <see cref="Plain"/>, plus a random subset of the pages whose content differs from their durable
    /// content reached the disk before the cut, as background writeback does (any page, in any order).
    /// </summary>
    Writeback,

    /// <summary>
    /// <see cref="Plain"/> on a disk where a chosen sync failed with EIO: it moved nothing to durable, and
    /// what the pages it was to write held then never becomes durable (Linux drops them, marks them clean
    /// and reports later syncs as successes; only a page written again is dirty again and written whole).
    /// </summary>
    FailSync,
}

/// <summary>One sync the engine asked for: its number on this disk (from 1), the call, the path it named, the thread that made it, and for an msync its range.</summary>
internal readonly record struct SyncCall(int Number, string Operation, string Path, string? Thread = null, long Offset = -1, long Length = -1)
{
    public override string ToString() => $"sync #{Number}: {Operation} of {System.IO.Path.GetFileName(Path)}{(Thread is null ? "" : $" on thread '{Thread}'")}";
}

/// <summary>One operation the engine asked of a <see cref="SimulatedDisk"/>, numbered from 1 in the order they were made.</summary>
internal readonly record struct DiskOperation(long Number, string Kind, string Path);

/// <summary>
/// The state a power cut left, materialized as a real directory: <see cref="Root"/> mirrors the
/// simulated disk's root as it would be found after power came back.
/// </summary>
/// <param name="Number">The cut's number on its disk, from 1.</param>
/// <param name="Model">What the cut kept (<see cref="PowerCutModel"/>).</param>
/// <param name="AfterOperations">How many operations of the disk the state includes: the power failed just after operation <paramref name="AfterOperations"/>.</param>
/// <param name="Next">The operation that did not happen (or "end" for a cut the test asked for explicitly).</param>
/// <param name="Root">The materialized directory.</param>
/// <param name="ReportedDurable">What the disk's probe read at the instant of the cut: the durable id the engine had reported by then.</param>
internal sealed record PowerCut(int Number, PowerCutModel Model, long AfterOperations, string Next, string Root, long ReportedDurable)
{
    /// <summary>Pages whose content differed from their durable content at the cut (what writeback could write).</summary>
    public int DirtyPages { get; init; }

    /// <summary>Of <see cref="DirtyPages"/>, those <see cref="PowerCutModel.Writeback"/> let reach the disk.</summary>
    public int PagesWrittenBack { get; init; }

    /// <summary>
    /// FlashWal files (segments, containers, the checkpoint, their temporary files) present in the real
    /// directory that the engine did not create through the disk: the model cannot say what of them is
    /// durable, and the storage layer's promise (every durable step goes through it) is broken. Copied as they are.
    /// </summary>
    public IReadOnlyList<string> Untracked { get; init; } = [];

    /// <summary>One line: number, model, where, reported durable id.</summary>
    public override string ToString() =>
        $"cut {Number} ({Model}, after operation {AfterOperations}, before {Next}, reported durable {ReportedDurable}{(Model == PowerCutModel.Writeback ? $", {PagesWrittenBack} of {DirtyPages} dirty pages written back" : "")})";
}
