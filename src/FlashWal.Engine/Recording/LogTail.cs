using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recording;

/// <summary>
/// Where a log ends: what a writer needs to continue it in a new segment without a gap in the
/// chain or the event ids, and without touching a byte that exists.
/// </summary>
/// <param name="Directory">Full path of the WAL directory.</param>
/// <param name="LogId">The log's id (new when the directory holds no segment).</param>
/// <param name="NextSegmentIndex">The index the next segment takes: one past the highest present.</param>
/// <param name="LastEventId">The last committed event id (0 for a new log).</param>
/// <param name="ChainValue">The chain value the next segment's block 0 must carry as its seed.</param>
/// <param name="TornTail">The torn-tail finding of the last segment, when a crash left one.</param>
public sealed record LogTail(string Directory, LogId LogId, long NextSegmentIndex, long LastEventId, uint ChainValue, Finding? TornTail)
{
    /// <summary>Whether the directory held no segment.</summary>
    public bool IsNewLog => NextSegmentIndex == 0;

    /// <summary>
    /// Reads the end of the log in <paramref name="directory"/> and repairs what a crash leaves so a
    /// writer can continue in a new segment: closes every segment left open after the last closed one
    /// (see <see cref="AbandonedSegment"/>; each is flushed) and deletes the prepared segments after
    /// the last one with data (they hold no event), so numbering continues without a gap.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalCorruptionException">The newest segment with data is damaged.</exception>
    public static LogTail Recover(string directory)
    {
        (LogTail tail, SegmentScan? newest, List<string> unused) = ReadCore(directory);
        foreach (string path in unused)
        {
            File.Delete(path); // prepared, never used: no event in it
        }

        WalDirectoryListing listing = WalDirectory.List(tail.Directory);
        long lastData = newest?.SegmentIndex ?? -1;

        if (newest is not null)
        {
            AbandonedSegment.Close(newest);
            foreach ((long index, string path) in listing.Segments.Where(s => s.Index < lastData).Reverse())
            {
                if (SegmentFile.ReadSummary(path) is not null)
                {
                    break; // segments are closed in order: everything older is closed too
                }

                AbandonedSegment.Close(path); // rotated, never closed by its maintainer
            }
        }

        IReadOnlyList<(long Index, string Path)> remaining = WalDirectory.List(tail.Directory).Segments;
        if (remaining.Count == 0)
        {
            LogId fresh = LogId.NewId(); // there were only empty segments: a new log starts
            return tail with { LogId = fresh, NextSegmentIndex = 0, ChainValue = SegmentFormat.GenesisChainSeed(fresh) };
        }

        return tail with { NextSegmentIndex = remaining[^1].Index + 1 };
    }

    /// <summary>Reads the end of the log in <paramref name="directory"/>, which must exist, without changing anything.</summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalCorruptionException">The newest segment with data is damaged: continuing would hide it.</exception>
    public static LogTail Read(string directory) => ReadCore(directory).Tail;

    /// <returns>
    /// The tail; the scan of the newest segment holding data (the only one the last writer can have
    /// left open); and the segments after it that hold nothing (prepared and never used, or never
    /// written), which a writer may delete.
    /// </returns>
    private static (LogTail Tail, SegmentScan? Newest, List<string> Unused) ReadCore(string directory)
    {
        WalDirectoryListing listing = WalDirectory.List(directory);
        if (listing.Segments.Count == 0)
        {
            LogId fresh = LogId.NewId();
            return (new LogTail(listing.Directory, fresh, 0, 0, SegmentFormat.GenesisChainSeed(fresh), null), null, []);
        }

        long next = listing.Segments[^1].Index + 1;
        LogId? log = null;
        Finding? torn = null;
        var unused = new List<string>();
        for (int i = listing.Segments.Count - 1; i >= 0; i--)
        {
            SegmentScan scan = SegmentScanner.ScanFile(listing.Segments[i].Path);
            if (scan.NeverWritten && log is null)
            {
                unused.Add(scan.Path); // a trailing creation a crash cut short: holds nothing
                continue;
            }

            Finding? damage = scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage);
            if (damage is not null || scan.Header is null)
            {
                throw new WalCorruptionException(damage ?? scan.Findings[0]);
            }

            log ??= scan.Header.Value.LogId;
            if (scan.Header.Value.LogId != log)
            {
                throw new WalCorruptionException(new Finding(FindingSeverity.Damage, FindingCode.ForeignSegment, scan.Path,
                    SegmentHeader.OffLogId, -1, "the segment belongs to another log than the newest segment", log.ToString(), scan.Header.Value.LogId.ToString()));
            }

            torn ??= scan.Findings.FirstOrDefault(f => f.Severity == FindingSeverity.TornTail);
            if (scan.RecordCount > 0 && scan.FinalChain is uint chain)
            {
                return (new LogTail(listing.Directory, log.Value, next, scan.LastEventId, chain, torn), scan, unused);
            }

            // A segment without events does not move the chain: look further back for the last event.
            if (scan is { State: SegmentState.Empty, Findings.Count: 0 })
            {
                unused.Add(scan.Path); // prepared, never used (a closed empty segment stays)
            }
        }

        // Only empty segments: the log has no event yet (and if none has a readable header, no id either).
        LogId id = log ?? LogId.NewId();
        return (new LogTail(listing.Directory, id, next, 0, SegmentFormat.GenesisChainSeed(id), torn), null, unused);
    }
}
