using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Verifies a segment file or a whole WAL directory and returns findings that name the file, the
/// byte offset, the block, what was expected and what was found. Damaged input never makes it throw.
/// </summary>
/// <remarks>
/// Each segment is judged by <see cref="SegmentScanner"/>; this class adds what only the set can
/// tell: one log id, no missing index, each segment's block 0 continuing its predecessor's chain,
/// event ids increasing across segments, only the last segment allowed a torn tail, and (for a
/// directory) no event the checkpoint called durable missing from the segments.
/// </remarks>
public static class SegmentVerifier
{
    /// <summary>What the verifier and repair say of an empty segment after the log's last data.</summary>
    internal const string PreparedUnusedMessage = "the segment holds no event (prepared and never used)";

    /// <summary>Verifies a segment file or a WAL directory.</summary>
    /// <exception cref="WalPathNotFoundException"><paramref name="path"/> does not exist.</exception>
    public static VerificationReport Verify(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return VerifyDirectory(full);
        }

        if (!File.Exists(full))
        {
            throw MissingPath.Error(full);
        }

        List<SegmentScan> scans = [SegmentScanner.ScanFile(full)];
        SalvageDamaged(scans);
        SegmentScan scan = scans[0];
        return new VerificationReport(full, isDirectory: false, [scan.ToInfo()], scan.Findings, LastEventOf(scans, scan.Header?.LogId), scan.Header?.LogId);
    }

    /// <summary>Verifies every segment of a WAL directory and the set as a whole.</summary>
    /// <exception cref="WalPathNotFoundException"><paramref name="directory"/> does not exist.</exception>
    public static VerificationReport VerifyDirectory(string directory) => VerifyDirectory(directory, live: null);

    /// <summary>Verifies a directory, told whether a recorder may be writing it (a repair holding the lock knows it is not; null: probe the lock).</summary>
    internal static VerificationReport VerifyDirectory(string directory, bool? live)
    {
        ArgumentNullException.ThrowIfNull(directory);
        LogSnapshot snapshot = LogSnapshot.Take(directory, live, quick: false, byHeaderIndex: false);
        List<Finding> findings = snapshot.Findings(inFileOrder: true);
        long lastEventId = LastEventOf(snapshot.Scans, snapshot.Log);
        findings.AddRange(CheckpointCheck.Check(snapshot.Listing.Directory, snapshot.Log, lastEventId, snapshot.Checkpoint, snapshot.CheckpointProblem,
            "recovery and the recorder use the segments instead"));
        return new VerificationReport(snapshot.Listing.Directory, isDirectory: true, snapshot.Scans.ConvertAll(s => s.ToInfo()), findings, lastEventId, snapshot.Log);
    }

    /// <summary>
    /// A log at rest whose first failure lies beyond its durable point where a power cut can leave
    /// unwritten pages ends there (<see cref="TornEnd"/>): that segment's failures become the torn end,
    /// and the segments after it are removed from <paramref name="scans"/> and returned (they are not
    /// part of the log). A live log is never cut.
    /// </summary>
    internal static List<SegmentScan> CutAtTornEnd(List<SegmentScan> scans, LogId? log, MetaCheckpoint? checkpoint, long? firstIndex, bool live, out TornEnd? end)
    {
        end = live ? null : TornEnd.Find(scans, log, checkpoint, firstIndex);
        if (end is null)
        {
            return [];
        }

        if (end.InSegment)
        {
            end.DeclareIn(scans[end.Position]);
        }

        // Prepared segments right after the end (they hold nothing) stay, as after any torn tail; from the
        // first segment that holds something on, nothing is part of the log.
        int keep = end.InSegment ? end.Position + 1 : end.Position;
        while (keep < scans.Count && scans[keep] is { NeverWritten: true } or { Header: not null, State: SegmentState.Empty, Summary: null, HasDamage: false })
        {
            keep++;
        }

        List<SegmentScan> beyond = scans.GetRange(keep, scans.Count - keep);
        scans.RemoveRange(keep, scans.Count - keep);
        return beyond;
    }

    /// <summary>The checkpoint's first segment index (version 2) when it names <paramref name="log"/>: below it, missing segments were retention's.</summary>
    internal static long? FirstIndexOf(MetaCheckpoint? checkpoint, LogId? log) =>
        checkpoint is { FirstSegmentIndex: long first } meta && log is { } id && meta.LogId == id ? first : null;


    /// <summary>
    /// Each file's own findings, with one judgement only the set can make: an all-zero file after the
    /// last segment with data is a creation a crash cut short, not damage.
    /// </summary>
    internal static IEnumerable<Finding> FileFindings(IReadOnlyList<SegmentScan> scans)
    {
        int lastWithData = -1;
        for (int i = 0; i < scans.Count; i++)
        {
            if (scans[i].RecordCount > 0 || scans[i].Summary is not null)
            {
                lastWithData = i;
            }
        }

        for (int i = 0; i < scans.Count; i++)
        {
            if (i > lastWithData && scans[i].NeverWritten)
            {
                yield return new Finding(FindingSeverity.Info, FindingCode.SegmentEmpty, scans[i].Path, 0, -1,
                    "a prepared segment whose creation never reached the disk before a crash (all zeros); it holds no event");
                continue;
            }

            foreach (Finding finding in scans[i].Findings)
            {
                yield return finding;
            }
        }
    }

    /// <summary>
    /// The checks that need the whole directory. <paramref name="scans"/> are ordered by index;
    /// <paramref name="firstIndex"/>, when known (the checkpoint's first segment index), is where the
    /// log must start: segments missing from there are lost, not retired by retention.
    /// </summary>
    /// <param name="listing">The directory's files.</param>
    /// <param name="scans">The segments, in order.</param>
    /// <param name="firstIndex">The checkpoint's first segment index, or null.</param>
    /// <param name="checkpoint">The checkpoint, which decides a tie between logs (<see cref="LogOf"/>); null when none is valid.</param>
    /// <param name="inFileOrder">
    /// The scans are in the order of the indices their file names give (the verifier's), not of those
    /// their headers state (the catalog's, which replays a misnamed segment where it belongs): missing
    /// indices are then judged by the names, so that a misnamed segment, which is a finding of its own,
    /// does not make the indices between its header's and its neighbours' look missing.
    /// </param>
    internal static IEnumerable<Finding> CheckSet(WalDirectoryListing listing, IReadOnlyList<SegmentScan> scans, long? firstIndex, MetaCheckpoint? checkpoint, bool inFileOrder = false)
    {
        foreach (Finding other in OtherFiles(listing))
        {
            yield return other;
        }

        if (scans.Count == 0)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.NoSegments, listing.Directory, -1, -1, "the directory holds no segment");
            yield break;
        }

        LogId? log = LogOf(scans, checkpoint);
        if (firstIndex is long first && scans[0].SegmentIndex > first && SegmentLink.CheckIndices(listing.Directory, first - 1, scans[0].SegmentIndex) is { } head)
        {
            yield return head; // retention never deleted them: the checkpoint says the log still starts there
        }

        foreach (Finding joined in CheckJoins(listing.Directory, scans, log, inFileOrder))
        {
            yield return joined;
        }
    }

    /// <summary>
    /// How each of <paramref name="scans"/> joins those before it (<see cref="SegmentLink"/>'s rules, in
    /// order: missing indices, another log's segment, where the log ends, the chain, a fence's jump).
    /// </summary>
    private static IEnumerable<Finding> CheckJoins(string directory, IReadOnlyList<SegmentScan> scans, LogId? log, bool inFileOrder)
    {
        int lastWithData = -1;
        for (int i = 0; i < scans.Count; i++)
        {
            if (scans[i].RecordCount > 0 && scans[i].Header?.LogId == log)
            {
                lastWithData = i;
            }
        }

        SegmentScan? previous = null; // the last readable segment of this log before the current one
        long lastId = 0; // the highest event id this log held before the current segment
        bool lastIdKnown = true; // false after a damaged segment without a summary: where it ended is unknown
        for (int i = 0; i < scans.Count; i++)
        {
            SegmentScan scan = scans[i];
            if (i > 0 && SegmentLink.CheckIndices(directory, Place(scans[i - 1]), Place(scans[i])) is { } missing)
            {
                yield return missing;
            }

            if (scan.Header is not { } header)
            {
                continue;
            }

            if (header.LogId != log)
            {
                yield return SegmentLink.Foreign(scan.Path, log, header.LogId);
                continue;
            }

            if (EndInTheLog(scan, followed: i < lastWithData) is { } end)
            {
                yield return end;
            }

            if (previous is not null && !previous.HasDamage && SegmentLink.CheckChain(previous, scan) is { } link)
            {
                yield return link;
            }

            // After damage whose extent is unknown, the damage finding already says events are lost there.
            if (previous is { IsFence: true } && lastIdKnown && SegmentLink.CheckFence(previous, lastId, scan) is { } fenced)
            {
                yield return fenced;
            }

            if (scan.RecordCount > 0 || scan.Summary is not null)
            {
                previous = scan;
                lastId = Math.Max(lastId, Math.Max(scan.LastEventId, scan.Summary?.LastEventId ?? 0));
                // A fence tells nothing of where the events before it ended: after a damaged segment
                // without a summary it stays unknown, and that damage is the loss's record (FORMAT.md §16.2).
                lastIdKnown = scan.IsFence ? lastIdKnown : !scan.HasDamage || scan.Summary is not null;
            }
        }

        long Place(SegmentScan scan) =>
            inFileOrder && SegmentFileName.TryParseAny(Path.GetFileName(scan.Path), out long named, out _) ? named : scan.SegmentIndex;
    }

    /// <summary>The files beside the segments: interrupted creations, compressed duplicates, and files that are not FlashWal's (information).</summary>
    private static IEnumerable<Finding> OtherFiles(WalDirectoryListing listing)
    {
        foreach (string path in listing.Temporary)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.IncompleteCreation, path, -1, -1,
                "a segment creation that was interrupted; it never carried a segment name and holds no event");
        }

        foreach (string path in listing.Duplicates)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.CompressedDuplicate, path, -1, -1,
                "a compressed copy of a segment whose original still exists (a compression was interrupted); the original is verified");
        }

        foreach (string path in listing.Other)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.UnknownFile, path, -1, -1, "not a FlashWal file; ignored");
        }
    }

    /// <summary>
    /// What the way <paramref name="scan"/> ends says in its place in the log, <paramref name="followed"/>
    /// by a segment with data or not: only the last segment may end torn (damage otherwise), an open
    /// segment that others follow was never closed, an empty one was prepared and never used.
    /// </summary>
    private static Finding? EndInTheLog(SegmentScan scan, bool followed) => scan.State switch
    {
        SegmentState.TornTail when followed => new Finding(FindingSeverity.Damage, FindingCode.TornTail, scan.Path, scan.ValidEnd, scan.BlockOffsets.Count,
            "unsealed bytes end a segment that later segments follow; only the log's last segment may end torn"),
        SegmentState.Open when followed => new Finding(FindingSeverity.Info, FindingCode.SegmentNotClosed, scan.Path, SegmentFormat.SummaryOffset, -1,
            "the segment was never closed; its successor's chain seed shows whether it is complete"),
        SegmentState.Empty => new Finding(FindingSeverity.Info, FindingCode.SegmentEmpty, scan.Path, -1, -1, PreparedUnusedMessage),
        _ => null,
    };

    /// <summary>
    /// The log a directory's segments belong to: the id most of the readable headers carry; on a tie,
    /// the one <paramref name="checkpoint"/> names (as repair decides, FORMAT.md §16.1), else the one
    /// with the newest segment. Null when no header is readable.
    /// </summary>
    internal static LogId? LogOf(IEnumerable<SegmentScan> scans, MetaCheckpoint? checkpoint = null) =>
        scans.Where(s => s.Header is not null).GroupBy(s => s.Header!.Value.LogId)
            .OrderByDescending(g => g.Count()).ThenByDescending(g => checkpoint is { } meta && meta.LogId == g.Key).ThenByDescending(g => g.Max(s => s.SegmentIndex))
            .Select(g => (LogId?)g.Key).FirstOrDefault();

    /// <summary>
    /// The log's last event id, 0 when none: the highest id the segments of <paramref name="log"/> are
    /// known to hold (docs/FORMAT.md §10): each one's valid prefix, the blocks that verify after its
    /// damage (<see cref="SalvageDamaged"/>), and a closed segment's summary, which says where its events
    /// end even when a block of it is damaged (that damage is a finding of its own: what it lost lies
    /// inside the summary's range, not after the log's end).
    /// </summary>
    internal static long LastEventOf(IEnumerable<SegmentScan> scans, LogId? log) =>
        scans.Where(s => s.Header is { } header && header.LogId == log)
            .Select(s => Math.Max(Math.Max(s.RecordCount > 0 ? s.LastEventId : 0, s.Summary?.LastEventId ?? 0), s.SalvagedRuns.Count > 0 ? s.SalvagedRuns[^1].LastEventId : 0))
            .DefaultIfEmpty().Max();

    /// <summary>
    /// Scans each damaged segment whose header is readable again, with salvage, so that the blocks that
    /// verify after its damage (<see cref="SegmentScan.SalvagedRuns"/>) count for <see cref="LastEventOf"/>
    /// as they count for salvage recovery. A file that can no longer be read keeps its first scan.
    /// </summary>
    internal static void SalvageDamaged(List<SegmentScan> scans)
    {
        for (int i = 0; i < scans.Count; i++)
        {
            if (scans[i] is not { State: SegmentState.Damaged, Header: not null } damaged)
            {
                continue;
            }

            if (SegmentScanner.ScanFile(damaged.Path, salvage: true) is { Header: not null, State: not SegmentState.Unreadable } salvaged)
            {
                scans[i] = salvaged;
            }

            // else gone or changed since: the first scan says what it held
        }
    }
}
