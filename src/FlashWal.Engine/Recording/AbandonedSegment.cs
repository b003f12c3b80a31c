using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recording;

/// <summary>
/// Closes a segment that a crash left open, so the log can continue in a new segment: writes the
/// summary of its valid prefix into the summary sector (all zeros until now, so no byte a reader
/// trusted changes), flagged <see cref="SegmentFormat.SummaryFlagRecoveredClose"/> when unsealed bytes
/// follow the prefix, then flushes. Nothing is deleted, truncated or zeroed.
/// </summary>
public static class AbandonedSegment
{
    /// <summary>
    /// Closes the segment at <paramref name="path"/> if it is open and holds events. Returns the summary
    /// written, or null when there was nothing to do (already closed, or empty).
    /// </summary>
    /// <exception cref="WalCorruptionException">The segment is damaged: closing it would hide the damage.</exception>
    public static SegmentSummary? Close(string path) => Close(SegmentScanner.ScanFile(path));

    /// <summary>Closes the segment <paramref name="scan"/> describes, if it is open and holds events (see <see cref="Close(string)"/>).</summary>
    /// <exception cref="WalCorruptionException">The segment is damaged.</exception>
    public static SegmentSummary? Close(SegmentScan scan)
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
        using var stream = new FileStream(scan.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.Write(stream.SafeFileHandle, bytes, SegmentFormat.SummaryOffset);
        stream.Flush(flushToDisk: true);
        return summary;
    }
}
