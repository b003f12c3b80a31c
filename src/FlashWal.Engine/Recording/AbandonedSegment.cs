using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recording;

/// <summary>
/// Closes a segment that a crash left open, so the log can continue in a new segment: writes the
/// summary of its valid prefix into the summary sector (all zeros until now, so no byte a reader
/// trusted changes), flagged <see cref="SegmentFormat.SummaryFlagRecoveredClose"/> when unsealed bytes
/// follow the prefix. The valid prefix is synced before the summary is written, and the summary
/// after (FORMAT.md §17): a summary that survives a power cut says its data did. Nothing is deleted,
/// truncated or zeroed.
/// </summary>
internal static class AbandonedSegment
{
    /// <summary>
    /// Closes the segment at <paramref name="path"/> if it is open and holds events. Returns the summary
    /// written, or null when there was nothing to do (already closed, or empty).
    /// </summary>
    /// <exception cref="WalCorruptionException">The segment is damaged: closing it would hide the damage.</exception>
    public static SegmentSummary? Close(string path) => Close(SegmentScanner.ScanFile(path));

    /// <summary>Closes the segment <paramref name="scan"/> describes, if it is open and holds events (see <see cref="Close(string)"/>).</summary>
    /// <exception cref="WalCorruptionException">The segment is damaged.</exception>
    public static SegmentSummary? Close(SegmentScan scan) => Close(scan, Storage.Disk.Real);

    /// <summary>Closes the segment <paramref name="scan"/> describes through <paramref name="disk"/>.</summary>
    internal static SegmentSummary? Close(SegmentScan scan, Storage.Disk disk)
    {
        ArgumentNullException.ThrowIfNull(scan);
        Finding? damage = scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage);
        if (damage is not null)
        {
            throw new WalCorruptionException(damage);
        }

        if (scan.Summary is not null || scan.BlockOffsets.Count == 0)
        {
            return null;
        }

        uint flags = scan.State == SegmentState.TornTail ? SegmentFormat.SummaryFlagRecoveredClose : 0;
        var summary = new SegmentSummary(flags, scan.ValidEnd, scan.BlockOffsets.Count, scan.FinalChain!.Value,
            scan.RecordCount, scan.FirstEventId, scan.LastEventId, WalClock.UnixNs());
        Span<byte> bytes = stackalloc byte[SegmentFormat.SummarySize];
        summary.WriteTo(bytes);
        using FileStream stream = disk.OpenForWrite(scan.Path);
        disk.Sync(stream, scan.Path); // the blocks first: the summary must never outlive them
        disk.Write(stream, bytes, SegmentFormat.SummaryOffset);
        disk.Sync(stream, scan.Path);
        return summary;
    }

    /// <summary>
    /// Closes a segment that lies beyond a torn end (FORMAT.md §9.1: written after the durable point,
    /// behind a hole a power cut left) as a segment without blocks: a summary with data end 4096, no
    /// block, no event, <paramref name="chain"/> (the chain the log's intact part ends with) as its
    /// final chain, flagged <see cref="SegmentFormat.SummaryFlagRecoveredClose"/>, so everything after
    /// its header is an abandoned tail, kept in the file and never replayed. A segment whose header
    /// page never reached the disk (zeros) first gets its header (this log, its index, its length as
    /// the capacity, the smallest block size): only zero bytes are written over.
    /// </summary>
    /// <exception cref="WalCorruptionException">The header is neither valid nor zeros: nothing is written over it.</exception>
    internal static SegmentSummary Abandon(SegmentScan scan, LogId log, uint chain, Storage.Disk disk)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Header is null && !scan.HeaderNeverWritten && !scan.NeverWritten)
        {
            throw new WalCorruptionException(scan.Findings.Count > 0 ? scan.Findings[0]
                : new Finding(FindingSeverity.Damage, FindingCode.NotASegment, scan.Path, 0, -1, "the header cannot be read"));
        }

        var summary = new SegmentSummary(SegmentFormat.SummaryFlagRecoveredClose, SegmentFormat.DataOffset, 0, chain, 0, 0, 0, WalClock.UnixNs());
        Span<byte> bytes = stackalloc byte[SegmentFormat.HeaderSize];
        using FileStream stream = disk.OpenForWrite(scan.Path);
        if (stream.Length < SegmentFormat.DataOffset + SegmentFormat.MinBlockSize)
        {
            disk.SetLength(stream, SegmentFormat.DataOffset + SegmentFormat.MinBlockSize); // empty: a size no sync covered
        }

        disk.Sync(stream, scan.Path);
        if (scan.Header is null)
        {
            var header = new SegmentHeader(SegmentFormat.Version, log, scan.SegmentIndex, stream.Length, SegmentFormat.MinBlockSize,
                SegmentFormat.DataOffset, WalClock.UnixNs());
            header.WriteTo(bytes);
            disk.Write(stream, bytes, 0);
        }

        summary.WriteTo(bytes[..SegmentFormat.SummarySize]);
        disk.Write(stream, bytes[..SegmentFormat.SummarySize], SegmentFormat.SummaryOffset);
        disk.Sync(stream, scan.Path);
        return summary;
    }

    /// <summary>
    /// Creates segment <paramref name="index"/>, whose name a power cut lost beyond a torn end, as the
    /// smallest segment without blocks closed as <see cref="Abandon"/> closes one (<c>RecoveredClose</c>,
    /// <paramref name="chain"/> as its final chain), so that the log's indices stay contiguous.
    /// </summary>
    internal static SegmentSummary CreateAbandoned(string directory, long index, LogId log, uint chain, Storage.Disk disk)
    {
        var options = new SegmentOptions
        {
            SegmentSize = SegmentFormat.DataOffset + SegmentFormat.MinBlockSize,
            BlockSize = SegmentFormat.MinBlockSize,
            Prefault = Storage.PrefaultMode.None,
            Disk = disk,
        };
        string path;
        using (SegmentWriter created = SegmentWriter.Create(directory, index, log, options))
        {
            path = created.Path;
            created.Abandon(); // header only: the summary is the abandoned kind, written below
        }

        SegmentSummary summary = Abandon(SegmentScanner.ScanFile(path), log, chain, disk);

        // Its name durable before any later segment is closed or abandoned: a power cut after a later
        // close would otherwise leave that segment closed past a hole, which reads as a missing segment.
        disk.SyncDirectory(directory);
        return summary;
    }
}
