using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Storage;

namespace FlashWal.Recording;

/// <summary>
/// Where a recorder resumes a log: what a writer needs to continue it in a new segment without a gap
/// in the chain or the event ids, and without touching a byte that exists. (Not the live follower,
/// <see cref="Reading.WalTailer"/>, nor how a replay found the log to end, <see cref="Recovery.LogEnd"/>.)
/// </summary>
/// <param name="Directory">Full path of the WAL directory.</param>
/// <param name="LogId">The log's id (new when the directory holds no segment).</param>
/// <param name="NextSegmentIndex">The index the next segment takes: one past the highest segment that stays.</param>
/// <param name="LastEventId">The last committed event id (0 for a new log).</param>
/// <param name="ChainValue">The chain value the next segment's block 0 must carry as its seed.</param>
/// <param name="TornTail">The torn-tail finding of the last segment, when a crash left one.</param>
internal sealed record ResumePoint(string Directory, LogId LogId, long NextSegmentIndex, long LastEventId, uint ChainValue, Finding? TornTail)
{
    /// <summary>Whether the directory held no segment.</summary>
    public bool IsNewLog => NextSegmentIndex == 0;

    /// <summary>
    /// The checkpoint's committed event id when it names this log and lies beyond <see cref="LastEventId"/>:
    /// events that were committed (readers may have seen them) but not yet flushed when the machine
    /// stopped, and are gone. 0 otherwise.
    /// </summary>
    public long CommittedBeyond { get; init; }

    /// <summary>The id the next event gets: after every id the log is known to have handed out, so none is handed out twice.</summary>
    public long NextEventId => Math.Max(LastEventId, CommittedBeyond) + 1;

    /// <summary>
    /// The lowest segment index retention has not deleted: the checkpoint's when it says (version 2,
    /// this log), else the lowest index the directory holds, else <see cref="NextSegmentIndex"/>.
    /// </summary>
    public long FirstSegmentIndex { get; init; }

    /// <summary>
    /// Reads the end of the log in <paramref name="directory"/> and repairs what a crash leaves so a
    /// writer can continue in a new segment: closes every segment left open after the last closed one
    /// (see <see cref="AbandonedSegment"/>; each is flushed) and deletes the prepared segments after
    /// the last one with data (they hold no event), so numbering continues without a gap. Everything is
    /// judged before anything is changed: when the open is refused, no file has been touched.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalCorruptionException">The newest segment with data is damaged.</exception>
    /// <exception cref="WalVersionException">It was written by a newer format version.</exception>
    /// <exception cref="WalAccessDeniedException">It may not be read.</exception>
    public static ResumePoint Recover(string directory) => Recover(directory, Disk.Real);

    /// <summary>
    /// <see cref="Recover(string)"/> through <paramref name="disk"/>, in the order FORMAT.md §17 gives
    /// for an open: every segment whose events the checkpoint does not already call durable is synced
    /// (a crash can leave a segment closed, or written, whose pages never reached the disk); then the
    /// checkpoint says so, with every id seen written; then the prepared segments are deleted and the
    /// open ones closed (those beyond a torn end abandoned, lost names filled), oldest first; then the
    /// directory is synced. Only then may a writer claim the log's last event as durable.
    /// </summary>
    internal static ResumePoint Recover(string directory, Disk disk)
    {
        WalDirectoryListing listing = WalDirectory.List(directory);
        TailPlan plan = Plan(listing);
        if (plan.Refusal is not null)
        {
            throw RefusalError(plan);
        }

        SyncUnproven(listing, plan.Tail, disk);

        // First, before any file changes: the checkpoint says the log's last event is durable (it is,
        // now), every id seen written (a closed or abandoned segment no longer shows what lay beyond a
        // torn end) and where the log starts, so that a power cut at any later step finds nothing missing
        // and the next open hands out none of those ids.
        ResumePoint tail = plan.Tail;
        MetaCheckpoint? existing = MetaCheckpoint.Load(listing.Directory, out _);
        bool saysSo = existing is { } meta && meta.LogId == tail.LogId && meta.DurableEventId >= tail.LastEventId
            && meta.CommittedEventId >= Math.Max(tail.LastEventId, tail.CommittedBeyond) && meta.FirstSegmentIndex == tail.FirstSegmentIndex;
        if ((!tail.IsNewLog || tail.CommittedBeyond > 0) && !saysSo)
        {
            new MetaCheckpoint(tail.LogId, tail.NextSegmentIndex, SegmentFormat.DataOffset, Math.Max(tail.LastEventId, tail.CommittedBeyond), tail.LastEventId, WalClock.UnixNs())
            {
                FirstSegmentIndex = tail.FirstSegmentIndex,
            }.Save(listing.Directory, disk);
        }

        foreach (SegmentScan unused in plan.Unused)
        {
            disk.Delete(unused.Path); // prepared, never used: no event in it
        }

        // Oldest first: a power cut half way through leaves closed segments only before the ones still
        // open, so the next reader still finds the same end (a closed segment after a failure would make
        // that failure damage), and the next open still finds every open one (it walks back to the first
        // closed segment).
        foreach ((long _, Action close) in plan.ClosesInOrder(listing.Directory, disk))
        {
            close();
        }

        disk.SyncDirectory(listing.Directory);
        return tail;
    }

    /// <summary>
    /// Syncs each plain segment of the log that the checkpoint does not prove durable: closed, with
    /// every event at or below its durable id. A recorder killed between a segment's close and its
    /// sync, or between an interval's appends and its flush, leaves data only in the page cache, which
    /// a power cut after this open would take with it.
    /// </summary>
    private static void SyncUnproven(WalDirectoryListing listing, ResumePoint tail, Disk disk)
    {
        MetaCheckpoint? checkpoint = MetaCheckpoint.Load(listing.Directory, out _);
        long durable = checkpoint is { } meta && meta.LogId == tail.LogId ? meta.DurableEventId : -1;
        foreach ((_, string path) in listing.Segments)
        {
            if (!path.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal))
            {
                continue; // compressed: its container was synced before its original was deleted
            }

            if (SegmentFile.ReadSummary(path) is { } summary && summary.LastEventId <= durable && (summary.RecordCount > 0 || durable >= 0))
            {
                continue;
            }

            using FileStream stream = disk.OpenForWrite(path);
            disk.Sync(stream, path);
        }

        disk.SyncDirectory(listing.Directory); // their names too, before the checkpoint claims their events
    }

    /// <summary>
    /// Reads the end of the log in <paramref name="directory"/>, which must exist, without changing
    /// anything: the tail a writer continues from once <see cref="Recover(string)"/> has done its work.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalCorruptionException">The newest segment with data is damaged: continuing would hide it.</exception>
    public static ResumePoint Read(string directory)
    {
        TailPlan plan = Plan(WalDirectory.List(directory));
        return plan.Refusal is not null ? throw RefusalError(plan) : plan.Tail;
    }

    /// <summary>
    /// The exception for a refused end of the log, as what it is: a file that cannot be read
    /// (permissions: <see cref="WalAccessDeniedException"/>), one of a newer format
    /// (<see cref="WalVersionException"/>), or damage (<see cref="WalCorruptionException"/>).
    /// </summary>
    private static WalException RefusalError(TailPlan plan)
    {
        Finding refusal = plan.Refusal!;
        return refusal.Code switch
        {
            FindingCode.IoError when plan.Refused?.ReadError is { } error => WalFileErrors.Reading(refusal.File, error),
            FindingCode.UnsupportedVersion when int.TryParse(refusal.Found, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int version)
                => new WalVersionException(refusal.File, version),
            _ => new WalCorruptionException(refusal),
        };
    }

    /// <summary>What opening <paramref name="listing"/>'s directory for writing would do, decided without changing anything.</summary>
    internal static TailPlan Plan(WalDirectoryListing listing) => Plan(listing.Directory, listing.Segments);

    /// <summary>
    /// What opening the log made of <paramref name="segments"/> (ordered by index) for writing would do:
    /// which prepared segments it deletes, which segments it closes, where the log continues, or why it
    /// refuses. Walks back from the newest segment to the newest one with data, or to a closed one.
    /// </summary>
    internal static TailPlan Plan(string directory, IReadOnlyList<(long Index, string Path)> segments)
    {
        // Read once, for the refusal and for the ids not to hand out again.
        MetaCheckpoint? checkpoint = MetaCheckpoint.Load(directory, out _);
        TailPlan plan = PlanCore(directory, segments, checkpoint);
        ResumePoint tail = plan.Tail;
        long first = checkpoint is { FirstSegmentIndex: long floor } meta && meta.LogId == tail.LogId ? floor
            : segments.Count > 0 ? segments[0].Index : tail.NextSegmentIndex;
        return plan with { Tail = tail with { FirstSegmentIndex = Math.Min(Math.Max(first, tail.FirstSegmentIndex), tail.NextSegmentIndex) } };
    }

    private static TailPlan PlanCore(string directory, IReadOnlyList<(long Index, string Path)> segments, MetaCheckpoint? checkpoint)
    {
        if (TornPlan(directory, segments, checkpoint) is { } tornEnd)
        {
            return tornEnd;
        }

        var unused = new List<SegmentScan>();
        LogId? log = null;
        Finding? torn = null;
        for (int i = segments.Count - 1; i >= 0; i--)
        {
            SegmentScan scan = SegmentScanner.ScanFile(segments[i].Path);
            if (scan.NeverWritten)
            {
                // Above the newest segment with data (the walk stops there): a creation a crash cut short,
                // which holds nothing, as the verifier judges it too.
                unused.Add(scan);
                continue;
            }

            if (Refusal(scan, log) is { } refusal)
            {
                return new TailPlan(NewLog(directory), unused, [], refusal, scan);
            }

            log ??= scan.Header!.Value.LogId;
            torn ??= scan.Findings.FirstOrDefault(f => f.Severity == FindingSeverity.TornTail);
            long next = NextIndex(segments, unused);
            if (scan.RecordCount > 0 && scan.FinalChain is uint chain)
            {
                if ((Fork(scan, segments, i) ?? DurableEventsMissing(directory, checkpoint, log.Value, scan.LastEventId)) is { } refused)
                {
                    return new TailPlan(NewLog(directory), unused, [], refused, scan);
                }

                (List<SegmentScan> toClose, Finding? blocked, SegmentScan? blocking) = OpenSegments(scan, segments, i);
                var tail = new ResumePoint(directory, log.Value, next, scan.LastEventId, chain, torn) { CommittedBeyond = CheckpointCommittedBeyond(checkpoint, log.Value, scan.LastEventId) };
                return new TailPlan(tail, unused, toClose, blocked, blocking);
            }

            if (scan is { State: SegmentState.Closed, BlockOffsets.Count: 0 } && scan.FinalChain is uint fenceChain)
            {
                // A closed segment without events ends the log (a repair writes one after damage it
                // accepted, see WalRepair): the log continues from its chain, after the highest id the
                // log is known to have held, and whatever lies before it is no longer the tail.
                (_, long known, _) = KnownEnd(directory, segments.Take(i).Reverse().Select(s => s.Path), log.Value);
                return new TailPlan(new ResumePoint(directory, log.Value, next, known, fenceChain, null), unused, [], null, null);
            }

            // A segment without events does not move the chain: look further back for the last event.
            if (scan is { State: SegmentState.Empty, Findings.Count: 0 })
            {
                unused.Add(scan); // prepared, never used
            }
            else if (scan is { State: SegmentState.TornTail, BlockOffsets.Count: 0, HasDamage: false })
            {
                // Killed before its first seal: unsealed bytes and no committed event. Left in place it
                // would end torn behind the segments the log continues in (damage), so it goes like a
                // prepared one; its torn-tail finding is still reported.
                unused.Add(scan);
            }
        }

        // Only empty segments: the log has no event yet (and if none stays, no id either).
        long first = NextIndex(segments, unused);
        if (first == 0 && checkpoint is { } named && (named.CommittedEventId > 0 || named.DurableEventId > 0))
        {
            // No segment stays, but the checkpoint names a log that held events: this is that log, not a
            // new one. Events it called durable are gone (refused, as above: a repair fences them off);
            // events only committed were lost as the durability policy allows, and their ids are not
            // handed out again.
            if (DurableEventsMissing(directory, checkpoint, named.LogId, 0) is { } gone)
            {
                return new TailPlan(NewLog(directory), unused, [], gone, null);
            }

            long next = named.SegmentIndex + 1;
            var lost = new ResumePoint(directory, named.LogId, next, 0, SegmentFormat.GenesisChainSeed(named.LogId), torn)
            {
                CommittedBeyond = named.CommittedEventId,
                FirstSegmentIndex = next, // the segments before held nothing durable
            };
            return new TailPlan(lost, unused, [], null, null);
        }

        if (first == 0)
        {
            return new TailPlan(NewLog(directory), unused, [], null, null);
        }

        LogId id = log ?? LogId.NewId();
        var empty = new ResumePoint(directory, id, first, 0, SegmentFormat.GenesisChainSeed(id), torn) { CommittedBeyond = CheckpointCommittedBeyond(checkpoint, id, 0) };
        return new TailPlan(empty, unused, [], null, null);
    }

    /// <summary>
    /// The plan when the log's first failure after its last closed segment is a torn end (FORMAT.md §9.1:
    /// beyond the durable point, where a power cut can leave pages unwritten): the segments before it
    /// are closed as usual, the one it lies in is closed at its valid prefix (<c>RecoveredClose</c>), and
    /// every later segment that holds anything is abandoned (closed without blocks, its bytes kept);
    /// later ones that hold nothing are deleted. The log continues after the highest id known to have
    /// been written, so that no id a reader may have seen is handed out again. Null when there is no
    /// such end (the usual plan then applies, refusing where the failure is damage).
    /// </summary>
    private static TailPlan? TornPlan(string directory, IReadOnlyList<(long Index, string Path)> segments, MetaCheckpoint? checkpoint)
    {
        int lastClosed = segments.Count - 1;
        while (lastClosed >= 0 && SegmentFile.ReadSummary(segments[lastClosed].Path) is null)
        {
            lastClosed--;
        }

        if (lastClosed == segments.Count - 1)
        {
            return null; // nothing after the last closed segment: no torn end to find
        }

        var scans = new List<SegmentScan>();
        for (int i = Math.Max(lastClosed, 0); i < segments.Count; i++)
        {
            scans.Add(i == lastClosed ? SegmentScanner.ScanQuick(segments[i].Path) : SegmentScanner.ScanFile(segments[i].Path));
        }

        // No header readable at all (a power cut before the first sync of a new log's segments): the
        // checkpoint's log if it names one, else a new one, whose segments these abandoned files become.
        LogId? log = Inspection.SegmentVerifier.LogOf(scans) ?? (scans.All(s => s.Header is null) ? checkpoint?.LogId ?? LogId.NewId() : null);
        long before = lastClosed >= 0 ? LastIdUpTo(segments, lastClosed) : 0;
        if (log is null || TornEnd.Find(scans, log, checkpoint, lastClosed < 0 ? Inspection.SegmentVerifier.FirstIndexOf(checkpoint, log) : null, before) is not { } end)
        {
            return null;
        }

        if (end.InSegment && !scans[end.Position].HasDamage && scans.Skip(end.Position + 1).All(HoldsNothing))
        {
            return null; // the torn tail of a killed recorder, at the end of the log: the usual plan closes it
        }

        var toClose = new List<SegmentScan>();
        var abandon = new List<SegmentScan>();
        var unused = new List<SegmentScan>();
        for (int j = lastClosed >= 0 ? 1 : 0; j < scans.Count; j++)
        {
            SegmentScan scan = scans[j];
            if (j < end.Position)
            {
                if (scan.Summary is null && scan.BlockOffsets.Count > 0)
                {
                    toClose.Add(scan); // intact, left open by a recorder that did not close it
                }
                else if (scan.Summary is null)
                {
                    abandon.Add(scan); // no block but not closed: no longer the end of the log
                }
            }
            else if (j == end.Position && end.InSegment)
            {
                end.DeclareIn(scan);
                (scan.BlockOffsets.Count > 0 ? toClose : abandon).Add(scan);
            }
            else
            {
                // Beyond the end: what holds nothing goes, unless something after it stays (then it is
                // abandoned too, so that no index goes missing in the middle of the log).
                (HoldsNothing(scan) && scans.Skip(j + 1).All(HoldsNothing) ? unused : abandon).Add(scan);
            }
        }

        toClose.Reverse(); // newest first, as the usual plan lists them
        unused.Reverse(); // deleted newest first: a cut half way through leaves no index missing before one that stays
        long next = scans.Where(s => !unused.Contains(s)).Select(s => s.SegmentIndex).DefaultIfEmpty(-1).Max() + 1;

        // Indices whose names a power cut lost (beyond the durable point) before segments that stay: filled
        // with segments without blocks, so that no index is missing in the middle of the log (or at its
        // head, where the checkpoint says the log starts).
        var present = scans.Where(s => !unused.Contains(s)).Select(s => s.SegmentIndex).ToHashSet();
        long from = lastClosed >= 0 ? segments[lastClosed].Index + 1 : Inspection.SegmentVerifier.FirstIndexOf(checkpoint, log) ?? (present.Count > 0 ? present.Min() : next);
        var fill = new List<long>();
        for (long index = from; index < next; index++)
        {
            if (!present.Contains(index))
            {
                fill.Add(index);
            }
        }

        long committed = checkpoint is { } meta && meta.LogId == log ? meta.CommittedEventId : 0;
        var tail = new ResumePoint(directory, log.Value, next, end.LastIntactEventId, end.Chain, end.Finding)
        {
            CommittedBeyond = Math.Max(committed, end.LostTo) > end.LastIntactEventId ? Math.Max(committed, end.LostTo) : 0,
        };
        return new TailPlan(tail, unused, toClose, null, null) { Abandon = abandon, Fill = fill };

        // A prepared segment never used, or one whose creation never reached the disk.
        static bool HoldsNothing(SegmentScan s) => s.NeverWritten || (s.Header is not null && s.State == SegmentState.Empty && !s.HasDamage);
    }

    /// <summary>The last event id of the closed segments up to position <paramref name="last"/> (from their summaries, newest with events first).</summary>
    private static long LastIdUpTo(IReadOnlyList<(long Index, string Path)> segments, int last)
    {
        for (int i = last; i >= 0; i--)
        {
            if (SegmentFile.ReadSummary(segments[i].Path) is { RecordCount: > 0 } summary)
            {
                return summary.LastEventId;
            }
        }

        return 0;
    }

    /// <summary>
    /// The checkpoint's committed event id when it names <paramref name="log"/> and lies beyond
    /// <paramref name="lastEventId"/>, else 0. Such events were committed but not flushed when the
    /// machine stopped (the durability policy allows losing them); their ids may have reached readers,
    /// so the log continues after them (FORMAT.md §14 step 6).
    /// </summary>
    private static long CheckpointCommittedBeyond(MetaCheckpoint? checkpoint, LogId log, long lastEventId) =>
        checkpoint is { } meta && meta.LogId == log && meta.CommittedEventId > lastEventId ? meta.CommittedEventId : 0;

    /// <summary>
    /// Where the log stood before a segment that ends it without events (a fence), read from
    /// <paramref name="pathsNewestFirst"/>, the segments before it: the highest event id the log is known
    /// to have held, and the chain value after its last block that verifies. Damaged segments count
    /// with everything that is known of them (their valid prefix, the blocks salvage finds after the
    /// damage, their summary); the walk ends at the first intact segment with events. The checkpoint's
    /// committed id, when it names the log, raises the known id: an id once committed is never handed
    /// out again.
    /// </summary>
    /// <returns>The last id salvage can read, the last id known, and the chain.</returns>
    internal static (long Readable, long Known, uint Chain) KnownEnd(string directory, IEnumerable<string> pathsNewestFirst, LogId log)
    {
        long readable = 0;
        long known = 0;
        uint? chain = null;
        foreach (string path in pathsNewestFirst)
        {
            SegmentScan scan = SegmentScanner.ScanFile(path);
            if (scan.Header?.LogId != log)
            {
                continue; // unreadable or another log's: says nothing about this log
            }

            if (!scan.HasDamage)
            {
                readable = Math.Max(readable, scan.LastEventId);
                known = Math.Max(known, scan.LastEventId);
                chain ??= scan.FinalChain;
                if (scan.RecordCount > 0)
                {
                    break;
                }

                continue;
            }

            using SegmentReader salvaged = SegmentReader.Open(path, salvage: true);
            IReadOnlyList<SalvagedRun> runs = salvaged.Scan.SalvagedRuns;
            long last = runs.Count > 0 ? runs[^1].LastEventId : salvaged.Scan.LastEventId;
            readable = Math.Max(readable, last);
            known = Math.Max(known, Math.Max(last, salvaged.Scan.Summary?.LastEventId ?? 0));
            chain ??= runs.Count > 0 ? runs[^1].FinalChain : salvaged.Scan.FinalChain;
        }

        if (MetaCheckpoint.Load(directory, out _) is { } checkpoint && checkpoint.LogId == log)
        {
            known = Math.Max(known, checkpoint.CommittedEventId);
        }

        return (readable, known, chain ?? SegmentFormat.GenesisChainSeed(log));
    }

    /// <summary>Why a writer must not continue the log at <paramref name="scan"/>: it is damaged, unreadable, or another log's than the newer segments. Null when it may.</summary>
    private static Finding? Refusal(SegmentScan scan, LogId? log)
    {
        Finding? damage = scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage);
        if (damage is not null || scan.Header is null)
        {
            return damage ?? scan.Findings[0];
        }

        return log is { } newer && scan.Header.Value.LogId != newer
            ? SegmentLink.Foreign(scan.Path, newer, scan.Header.Value.LogId, SegmentLink.ForeignMessage + " than the newest segment")
            : null;
    }

    /// <summary>
    /// The checkpoint's finding when it says events after <paramref name="lastEventId"/> were durable:
    /// storage lost flushed data. Continuing would hand those ids out again (downstream may hold the
    /// originals) and the next checkpoint would erase the evidence, so the open refuses; a repair
    /// fences the end, after which the log continues above every id the checkpoint names (§16.2).
    /// </summary>
    private static Finding? DurableEventsMissing(string directory, MetaCheckpoint? checkpoint, LogId log, long lastEventId) =>
        checkpoint is { } meta && meta.LogId == log
            ? CheckpointCheck.Check(directory, log, lastEventId, meta, problem: null, "the segments are used instead")
                .FirstOrDefault(f => f.Code == FindingCode.DurableEventsMissing)
            : null;

    /// <summary>
    /// Whether <paramref name="newest"/>, the segment a writer would continue, belongs to another log
    /// than the nearest older segment whose header can be read. Segments of one directory are one log
    /// (retention removes the oldest first), so a difference means a file was put there: continuing
    /// either log would fork it. Which one is foreign is the catalog's judgement (the majority), which
    /// a repair acts on; the open refuses.
    /// </summary>
    private static Finding? Fork(SegmentScan newest, IReadOnlyList<(long Index, string Path)> segments, int at)
    {
        LogId log = newest.Header!.Value.LogId;
        for (int j = at - 1; j >= 0; j--)
        {
            if (SegmentScanner.ScanQuick(segments[j].Path).Header is { } older)
            {
                return older.LogId == log
                    ? null
                    : SegmentLink.Foreign(newest.Path, older.LogId, log,
                        $"the newest segment with events belongs to another log than the segment before it ({Path.GetFileName(segments[j].Path)}): a recorder will not continue either log; repair sets the foreign segments aside");
            }
        }

        return null;
    }

    /// <summary>
    /// The segments a writer closes before continuing after <paramref name="newest"/> (at position
    /// <paramref name="at"/>): it, if open, and the open ones before it back to the last closed one
    /// (segments are closed in order). A damaged one among them cannot be closed without hiding its
    /// damage: it ends the list and refuses the open.
    /// </summary>
    internal static (List<SegmentScan> ToClose, Finding? Refusal, SegmentScan? Refused) OpenSegments(SegmentScan newest, IReadOnlyList<(long Index, string Path)> segments, int at)
    {
        var toClose = new List<SegmentScan>();
        if (newest.Summary is null)
        {
            toClose.Add(newest);
        }

        for (int j = at - 1; j >= 0; j--)
        {
            if (SegmentFile.ReadSummary(segments[j].Path) is not null)
            {
                break; // everything older is closed too
            }

            SegmentScan older = SegmentScanner.ScanFile(segments[j].Path); // rotated, never closed by its maintainer
            if (older.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage) is { } damage)
            {
                return (toClose, damage, older);
            }

            if (older.BlockOffsets.Count > 0)
            {
                toClose.Add(older);
            }
        }

        return (toClose, null, null);
    }

    /// <summary>One past the highest segment that stays once <paramref name="unused"/> are deleted; 0 when none stays.</summary>
    private static long NextIndex(IReadOnlyList<(long Index, string Path)> segments, List<SegmentScan> unused)
    {
        for (int i = segments.Count - 1; i >= 0; i--)
        {
            if (!unused.Exists(u => u.Path == segments[i].Path))
            {
                return segments[i].Index + 1;
            }
        }

        return 0;
    }

    private static ResumePoint NewLog(string directory)
    {
        LogId fresh = LogId.NewId();
        return new ResumePoint(directory, fresh, 0, 0, SegmentFormat.GenesisChainSeed(fresh), null);
    }
}

/// <summary>
/// What opening a log for writing does to its files, decided before any is changed: the prepared
/// segments it deletes (they hold no event), the open segments it closes (newest first; a torn one
/// with <see cref="SegmentFormat.SummaryFlagRecoveredClose"/>), and where the log then continues, or the
/// finding that makes it refuse. The recorder's open and a repair carry out the same plan.
/// </summary>
/// <param name="Tail">Where a writer continues once the steps are done (meaningless when refused).</param>
/// <param name="Unused">Prepared or never-written segments after the last one with data.</param>
/// <param name="ToClose">Open segments that hold events, newest first.</param>
/// <param name="Refusal">Why a writer must not continue: damage at the end of the log. Null when it may.</param>
/// <param name="Refused">The segment <paramref name="Refusal"/> is about.</param>
internal sealed record TailPlan(ResumePoint Tail, IReadOnlyList<SegmentScan> Unused, IReadOnlyList<SegmentScan> ToClose, Finding? Refusal, SegmentScan? Refused)
{
    /// <summary>Segments beyond a torn end that hold something (<see cref="AbandonedSegment.Abandon"/>); empty otherwise.</summary>
    public IReadOnlyList<SegmentScan> Abandon { get; init; } = [];

    /// <summary>
    /// Indices missing where a power cut lost a segment's name beyond the durable point, before segments
    /// that stay: each becomes a segment without blocks (<see cref="AbandonedSegment.CreateAbandoned"/>),
    /// so the log's indices stay contiguous. Empty otherwise.
    /// </summary>
    public IReadOnlyList<long> Fill { get; init; } = [];

    /// <summary>The segments this plan closes, abandons or creates, as steps in increasing index order.</summary>
    internal IEnumerable<(long Index, Action Step)> ClosesInOrder(string directory, Disk disk) =>
        ToClose.Select(s => (s.SegmentIndex, (Action)(() => AbandonedSegment.Close(s, disk))))
            .Concat(Abandon.Select(s => (s.SegmentIndex, (Action)(() => AbandonedSegment.Abandon(s, Tail.LogId, Tail.ChainValue, disk)))))
            .Concat(Fill.Select(i => (i, (Action)(() => AbandonedSegment.CreateAbandoned(directory, i, Tail.LogId, Tail.ChainValue, disk)))))
            .OrderBy(step => step.Item1);
}
