using FlashWal.Format;

namespace FlashWal.Tests.Durability;

/// <summary>
/// What retention deleted, as a <see cref="SimulatedDisk"/> observer sees it: each deletion of a closed
/// segment (plain or compressed) that leaves no other copy of it, with the segment's last event id. A
/// log after a cut may start after those ids, and only after those.
/// </summary>
internal sealed class RetentionLog
{
    private readonly List<(long Operation, long LastEventId)> _deleted = [];

    /// <summary>For <see cref="SimulatedDiskOptions.Observe"/>: runs before each operation, inside the disk's lock.</summary>
    public void Observe(DiskOperation operation)
    {
        if (operation.Kind != "delete" || !File.Exists(operation.Path))
        {
            return;
        }

        string name = Path.GetFileName(operation.Path);
        string? other = name.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal) ? operation.Path[..^SegmentFileName.Extension.Length] + CompressedSegment.Extension
            : name.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal) ? operation.Path[..^CompressedSegment.Extension.Length] + SegmentFileName.Extension
            : null;
        if (other is null || File.Exists(other))
        {
            return; // not a segment, or a compression replacing one copy by the other
        }

        if (SegmentFile.ReadSummary(operation.Path) is { RecordCount: > 0 } summary)
        {
            lock (_deleted)
            {
                _deleted.Add((operation.Number, summary.LastEventId));
            }
        }
    }

    /// <summary>The highest event id of a segment deleted by the first <paramref name="operations"/> operations (0: none).</summary>
    public long DeletedThrough(long operations)
    {
        lock (_deleted)
        {
            return _deleted.Where(d => d.Operation <= operations).Select(d => d.LastEventId).DefaultIfEmpty().Max();
        }
    }
}
