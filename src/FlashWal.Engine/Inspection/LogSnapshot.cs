using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// One look at a WAL directory: the checkpoint first, then the listing, then each segment's scan,
/// with the live-log corrections applied and, at rest, the log cut at its torn end. The one input of
/// the verifier and the catalog (and so of a replay's plan), which differ only in how deep they scan
/// and in which order they put the segments: so <c>Test-WalSegment</c> and <c>Get-WalSegment</c> judge
/// a live directory alike.
/// </summary>
/// <remarks>
/// The checkpoint is read before the segments are listed: a recorder writes it only after the events
/// it names are in the segments, so one read first never names events that the scans miss, even
/// while the log is being written (docs/results/stress.md, 7).
/// </remarks>
internal sealed class LogSnapshot
{
    private LogSnapshot(WalDirectoryListing listing, MetaCheckpoint? checkpoint, string? checkpointProblem, List<SegmentScan> scans, bool isLive)
    {
        Listing = listing;
        Checkpoint = checkpoint;
        CheckpointProblem = checkpointProblem;
        Scans = scans;
        IsLive = isLive;
        Log = SegmentVerifier.LogOf(scans, checkpoint);
        FirstIndex = isLive ? null : SegmentVerifier.FirstIndexOf(checkpoint, Log);
        Beyond = SegmentVerifier.CutAtTornEnd(scans, Log, checkpoint, FirstIndex, isLive, out TornEnd? end);
        End = end;
    }

    /// <summary>The directory's files, as listed.</summary>
    public WalDirectoryListing Listing { get; }

    /// <summary>The checkpoint, when it could be read.</summary>
    public MetaCheckpoint? Checkpoint { get; }

    /// <summary>Why the checkpoint could not be read, when a file is there.</summary>
    public string? CheckpointProblem { get; }

    /// <summary>The log's segments, scanned, in order (up to its torn end, at rest).</summary>
    public List<SegmentScan> Scans { get; }

    /// <summary>Whether a recorder held the directory's lock when the segments had been scanned.</summary>
    public bool IsLive { get; }

    /// <summary>The log the segments belong to (<see cref="SegmentVerifier.LogOf"/>); null when no header is readable.</summary>
    public LogId? Log { get; }

    /// <summary>At rest, the checkpoint's first segment index: below it, missing segments were retention's.</summary>
    public long? FirstIndex { get; }

    /// <summary>Where the log at rest ends torn (FORMAT.md §9.1); null when it does not.</summary>
    public TornEnd? End { get; }

    /// <summary>The segments after the torn end: not part of the log.</summary>
    public List<SegmentScan> Beyond { get; }

    /// <summary>
    /// Takes the snapshot: every segment scanned fully, or with <paramref name="quick"/> described from
    /// its summary when closed (<see cref="SegmentScanner.ScanQuick"/>); in the order of the file names
    /// (the verifier's), or with <paramref name="byHeaderIndex"/> of the indices the headers state (the
    /// catalog's, which replays a misnamed segment where it belongs). <paramref name="live"/>: whether a
    /// recorder may be writing it (null: probe the lock, once the segments are scanned).
    /// </summary>
    public static LogSnapshot Take(string directory, bool? live, bool quick, bool byHeaderIndex)
    {
        MetaCheckpoint? checkpoint = MetaCheckpoint.Load(Path.GetFullPath(directory), out string? problem);
        WalDirectoryListing listing = WalDirectory.List(directory);
        List<SegmentScan> scans = [.. listing.Segments.Select(s => SegmentScanner.ScanCurrent(s.Path, quick))];
        if (byHeaderIndex)
        {
            scans = [.. scans.OrderBy(s => s.SegmentIndex)];
        }

        RescanGrown(scans, quick);

        // Prepared segments a closing recorder discarded go first: only what vanished before the last
        // segment with data was retention's (a rescan that found a segment gone included). (Counted
        // together, a discarded prepared segment, the newest index, made a live log look retired
        // whole: the catalog found no event, and the verifier an empty log. Found by the catalog's
        // agreement check in the stress set.)
        DropVanishedAfterData(scans);
        long deletedUpTo = LastVanished(scans);
        bool isLive = live ?? LiveLog.IsLive(listing.Directory);
        if (isLive)
        {
            DropRetired(scans, deletedUpTo);
            DropUnnamedGap(scans);
        }

        SegmentVerifier.SalvageDamaged(scans);
        return new LogSnapshot(listing, checkpoint, problem, scans, isLive);
    }

    /// <summary>
    /// The findings of the files and of the set: each file's own, the set's (<see cref="SegmentVerifier.CheckSet"/>,
    /// missing indices judged by file names when <paramref name="inFileOrder"/>), the torn end's and
    /// those of the segments beyond it. The checkpoint's are the caller's, who says what is used instead.
    /// </summary>
    public List<Finding> Findings(bool inFileOrder)
    {
        List<Finding> findings = [.. SegmentVerifier.FileFindings(Scans)];
        findings.AddRange(SegmentVerifier.CheckSet(Listing, Scans, FirstIndex, Checkpoint, inFileOrder));
        if (End is { } end)
        {
            if (!end.InSegment)
            {
                findings.Add(end.Finding);
            }

            findings.AddRange(Beyond.Select(end.Beyond));
        }

        return findings;
    }

    /// <summary>The index of the last segment found gone since the listing (-1: none); the scans are in index order.</summary>
    private static long LastVanished(List<SegmentScan> scans)
    {
        long deletedUpTo = -1;
        foreach (SegmentScan scan in scans)
        {
            if (SegmentScanner.IsVanished(scan))
            {
                deletedUpTo = scan.SegmentIndex;
            }
        }

        return deletedUpTo;
    }

    /// <summary>
    /// A live log: a segment that was still being written when it was scanned (no summary, open or
    /// with unsealed bytes) while a later segment scanned after it holds data, is scanned again. The
    /// recorder sealed its last blocks before it wrote the later one, so the second scan sees them, and
    /// the chain between the two is judged on what the files hold, not on when each was read
    /// (docs/results/stress.md, 4).
    /// </summary>
    private static void RescanGrown(List<SegmentScan> scans, bool quick)
    {
        for (int i = 0; i < scans.Count - 1; i++)
        {
            SegmentScan scan = scans[i];
            if (scan.Summary is null && scan.State is SegmentState.Open or SegmentState.TornTail or SegmentState.Empty
                && scans.Skip(i + 1).Any(later => later.RecordCount > 0 && later.Header?.LogId == scan.Header?.LogId))
            {
                scans[i] = SegmentScanner.ScanCurrent(scan.Path, quick);
            }
        }
    }

    /// <summary>
    /// Segments gone since the listing after every segment with data: prepared segments, which a
    /// closing recorder discards (they hold no event; <see cref="LiveLog.VanishedEmpty"/>).
    /// </summary>
    private static void DropVanishedAfterData(List<SegmentScan> scans)
    {
        int lastWithData = scans.FindLastIndex(s => s.RecordCount > 0 || s.Summary is not null);
        if (lastWithData < 0)
        {
            return;
        }

        for (int i = scans.Count - 1; i > lastWithData; i--)
        {
            if (SegmentScanner.IsVanished(scans[i]))
            {
                scans.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// A live log: retention deleted segments since the listing, oldest first, so the log now starts
    /// after the newest one that went (<paramref name="deletedUpTo"/>); what was scanned before it is gone or going.
    /// </summary>
    private static void DropRetired(List<SegmentScan> scans, long deletedUpTo)
    {
        if (deletedUpTo >= 0)
        {
            scans.RemoveAll(s => s.SegmentIndex <= deletedUpTo);
        }
    }

    /// <summary>
    /// A live log: the recorder may be creating a segment itself while the preparer already has the next
    /// one ready, so an index can be missing before empty prepared segments: they hold no event, and
    /// the missing one is not missing, only not named yet (docs/results/stress.md, 6).
    /// </summary>
    private static void DropUnnamedGap(List<SegmentScan> scans)
    {
        int lastWithData = scans.FindLastIndex(s => s.RecordCount > 0 || s.Summary is not null);
        if (lastWithData < 0)
        {
            return;
        }

        for (int i = lastWithData + 1; i < scans.Count; i++)
        {
            if (scans[i].SegmentIndex != scans[i - 1].SegmentIndex + 1 && scans.Skip(i).All(s => s.State == SegmentState.Empty))
            {
                scans.RemoveRange(i, scans.Count - i);
                return;
            }
        }
    }
}
