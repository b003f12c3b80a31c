using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Where a log at rest ends when what follows its intact part may be what a power cut leaves (FORMAT.md
/// §9.1): the one rule the verifier, the catalog, recovery, the tailer and the recorder's open apply.
/// </summary>
/// <remarks>
/// <para>A power cut keeps only what a sync covered, plus whatever pages writeback happened to write:
/// past the last sync a block header can be on disk without its data, a page can be missing between
/// two that are there, a newer segment can hold blocks after a hole in an older one, a prepared
/// segment's header page can be zeros. None of it can be told from damage by the bytes alone; what
/// tells them apart is the <b>durable point</b>: the highest event id the directory proves was synced
/// (<see cref="KnownDurable"/>). A failure after the log's intact part has reached it, in a place a
/// power cut can leave unwritten, is a torn end: reported, with the ids it may have cost, but not
/// damage. Anything else stays damage.</para>
/// <para>A log being written (its lock held) has no torn end: a live recorder's files are in the page
/// cache, and the live-log rules apply.</para>
/// </remarks>
/// <param name="Position">Index, in the scans given to <see cref="Find"/>, of the segment where the log ends.</param>
/// <param name="InSegment">True when the log ends inside that segment (after its valid prefix, which is part of the log); false when the segment itself is the first thing beyond the end.</param>
/// <param name="LastIntactEventId">The last event of the log's intact part.</param>
/// <param name="DurableEventId">The durable point it passed.</param>
/// <param name="Chain">The chain value after the last intact block: what a writer continuing the log seeds with.</param>
/// <param name="LostTo">The highest id known to have been written after the end (blocks found beyond it, the checkpoint's committed id); at most <paramref name="LastIntactEventId"/> when none is.</param>
/// <param name="Finding">The torn-end finding (<see cref="FindingSeverity.TornTail"/>, <see cref="FindingCode.TornTail"/>) that replaces the failures at and after the end.</param>
internal sealed record TornEnd(int Position, bool InSegment, long LastIntactEventId, long DurableEventId, uint Chain, long LostTo, Finding Finding)
{
    /// <summary>No segment seen yet, and no first index known.</summary>
    private const long NoIndex = long.MinValue;

    /// <summary>How a torn end's finding starts: what the verifier and recovery say instead of a bare "intact".</summary>
    public const string MessageStart = "torn tail (not provably damage)";

    /// <summary>The failures a power cut can produce after the valid prefix of a segment that was never closed.</summary>
    private static readonly HashSet<FindingCode> TailFailures =
    [
        FindingCode.BlockHeaderCorrupt, FindingCode.BlockHeaderInvalid, FindingCode.BlockChecksumMismatch,
        FindingCode.ChainBroken, FindingCode.RecordInvalid, FindingCode.EventIdOrder, FindingCode.BlocksLost, FindingCode.TornTail,
    ];

    /// <summary>
    /// The highest event id the directory proves durable: the checkpoint's durable id when it names
    /// <paramref name="log"/> (a checkpoint is written only after what it calls durable was synced), and
    /// the last id of every closed segment (a close writes the summary only after the segment's data,
    /// and every older segment's, was synced). 0 when nothing is proven.
    /// </summary>
    public static long KnownDurable(MetaCheckpoint? checkpoint, LogId? log, IEnumerable<SegmentScan> scans)
    {
        long durable = checkpoint is { } meta && log is { } id && meta.LogId == id ? meta.DurableEventId : 0;
        foreach (SegmentScan scan in scans)
        {
            if (scan.Summary is { } summary && scan.Header?.LogId == log)
            {
                durable = Math.Max(durable, summary.LastEventId);
            }
        }

        return durable;
    }

    /// <summary>
    /// Walks <paramref name="scans"/> (one log's segments in index order, fully scanned where they are
    /// not closed) and returns where the log ends if its first failure is one a power cut can leave
    /// after the durable point; null when there is no failure, or when the first one is damage.
    /// </summary>
    /// <remarks>
    /// One judgement changes a scan: a log that ends in a plain torn tail at a failed check (a block
    /// header whose magic is there but whose CRC fails, say) short of the durable point ends in damage,
    /// so that scan's torn-tail finding becomes the failed check.
    /// </remarks>
    /// <param name="scans">The segments, in index order.</param>
    /// <param name="log">The log they belong to.</param>
    /// <param name="checkpoint">The checkpoint read before the listing, if any.</param>
    /// <param name="firstIndex">The lowest index the log is known to hold (the checkpoint's first segment index); a gap before the first scan counts as missing from there.</param>
    /// <param name="lastIdBefore">The log's last event before the first scan, when the scans start after its first segment (a recorder's open looks only from its last closed segment on).</param>
    public static TornEnd? Find(IReadOnlyList<SegmentScan> scans, LogId? log, MetaCheckpoint? checkpoint, long? firstIndex, long lastIdBefore = 0)
    {
        var walk = new Walk(scans, log, checkpoint, firstIndex, lastIdBefore);
        for (int i = 0; i < scans.Count; i++)
        {
            if (walk.Meet(i, out TornEnd? end))
            {
                return end;
            }
        }

        return null;
    }

    /// <summary>
    /// <see cref="Find"/>'s walk: the log's intact part so far (its last id, its chain, its last segment
    /// with data, the last index met), and each segment judged against it.
    /// </summary>
    private sealed class Walk(IReadOnlyList<SegmentScan> scans, LogId? log, MetaCheckpoint? checkpoint, long? firstIndex, long lastIdBefore)
    {
        private readonly long _durable = KnownDurable(checkpoint, log, scans);
        private readonly long _committed = checkpoint is { } meta && meta.LogId == log ? meta.CommittedEventId : 0;
        private readonly bool _startsAtZero = firstIndex == 0 || (scans.Count > 0 && scans[0].SegmentIndex == 0 && lastIdBefore == 0);
        private long _lastIntact = lastIdBefore;
        private long _previousIndex = firstIndex is long first ? first - 1 : NoIndex; // -1 when the log starts at 0
        private uint _chain = log is { } id ? SegmentFormat.GenesisChainSeed(id) : 0;
        private SegmentScan? _previous;

        /// <summary>
        /// Judges scans[<paramref name="i"/>]. True when the walk ends there: at a torn end
        /// (<paramref name="end"/>), or at a failure that is damage or no failure a power cut leaves
        /// (<paramref name="end"/> null). False: the log goes on after it.
        /// </summary>
        public bool Meet(int i, out TornEnd? end)
        {
            SegmentScan scan = scans[i];
            bool laterData = HasDataAfter(scans, i, log);
            end = null;
            if (scan.Header is null)
            {
                return MeetHeaderless(i, scan, laterData, out end);
            }

            if (scan.Header.Value.LogId != log)
            {
                return true; // a file of another log: never a power cut's doing
            }

            if (_previousIndex != NoIndex && scan.SegmentIndex > _previousIndex + 1)
            {
                if (scan.RecordCount == 0 && scan.Summary is null && !laterData && !scan.HasDamage)
                {
                    return false; // prepared segments after the last one with data: nothing is missing from the log
                }

                Finding missing = SegmentLink.CheckIndices(Path.GetDirectoryName(scan.Path)!, _previousIndex, scan.SegmentIndex)!;
                end = End(i, inSegment: false, scan, missing, "segments before it are missing");
                return true;
            }

            if (JoinFailure(scan) is { } joinFailure)
            {
                end = End(i, inSegment: false, scan, joinFailure.Failure, joinFailure.Why);
                return true;
            }

            if (scan.HasDamage)
            {
                end = OwnDamageMayBeTorn(scan) ? End(i, inSegment: true, scan, scan.Findings.First(f => f.Severity >= FindingSeverity.Damage), null) : null;
                return true;
            }

            if (scan.State == SegmentState.TornTail)
            {
                end = MeetTornTail(i, scan, laterData);
                return true;
            }

            if (scan.RecordCount > 0 || scan.Summary is not null)
            {
                _lastIntact = Math.Max(_lastIntact, Math.Max(scan.LastEventId, scan.Summary?.LastEventId ?? 0));
                _chain = scan.FinalChain ?? _chain;
                _previous = scan;
            }

            _previousIndex = scan.SegmentIndex;
            return false;
        }

        /// <summary>
        /// A file without a readable header: a prepared segment whose creation never reached the disk
        /// (skipped, when nothing of the log follows it), or a first page that never did (a torn end
        /// after the durable point); any other unreadable header is damage.
        /// </summary>
        private bool MeetHeaderless(int i, SegmentScan scan, bool laterData, out TornEnd? end)
        {
            end = null;
            if (scan.NeverWritten && !laterData)
            {
                return false;
            }

            if (scan.NeverWritten || scan.HeaderNeverWritten)
            {
                end = End(i, inSegment: false, scan, null, "its header page never reached the disk");
            }

            return true;
        }

        /// <summary>Why <paramref name="scan"/>'s first block does not continue the intact part of the log, if it does not.</summary>
        private (Finding Failure, string Why)? JoinFailure(SegmentScan scan)
        {
            if (_previous is not null && scan.RecordCount > 0 && SegmentLink.CheckChain(_previous, scan) is { Severity: >= FindingSeverity.Damage } broken)
            {
                return (broken, "its first block does not continue the intact part of the log");
            }

            if (_previous is null && scan.RecordCount > 0 && scan.SegmentIndex > 0 && _startsAtZero && scan.ChainSeed is uint seed && seed != _chain)
            {
                // The log's first blocks lie in a segment after ones that hold none: they continue blocks
                // that never reached the disk.
                return (SegmentLink.ChainNotContinued(scan.Path, scan.SegmentIndex - 1, _chain, seed), "its first block does not continue the log's genesis");
            }

            return null;
        }

        /// <summary>
        /// A segment that ends in a torn tail. Later segments with data make it a torn end inside it;
        /// at the end of the log it says what it may have cost, and is damage where the durable point
        /// lies beyond it and a check failed there (not merely a seal cut short).
        /// </summary>
        private TornEnd? MeetTornTail(int i, SegmentScan scan, bool laterData)
        {
            if (laterData)
            {
                return End(i, inSegment: true, scan, scan.TornFailure, "later segments hold blocks written after it");
            }

            Finding plain = scan.Findings.First(f => f.Code == FindingCode.TornTail);
            if (End(i, inSegment: true, scan, scan.TornFailure, plain.Message) is { } end)
            {
                return end;
            }

            if (scan.TornFailure is { } failure && Math.Max(_lastIntact, scan.LastEventId) < _durable)
            {
                scan.ReplaceFinding(plain, failure);
                scan.State = SegmentState.Damaged;
            }

            return null;
        }

        /// <summary>The log ends at scans[<paramref name="at"/>]: inside it after its valid prefix, or before it; null when that is damage.</summary>
        private TornEnd? End(int at, bool inSegment, SegmentScan scan, Finding? failure, string? why)
        {
            long intact = _lastIntact;
            uint endChain = _chain;
            if (inSegment && scan.RecordCount > 0)
            {
                intact = Math.Max(intact, scan.LastEventId);
                endChain = scan.FinalChain ?? endChain;
            }

            if (intact < _durable || ClosedFrom(scans, at))
            {
                // The durable point lies beyond the failure, or a segment from here on was closed (its
                // summary proves it and everything before it was synced): damage, not a torn write.
                return null;
            }

            long lostTo = Math.Max(_committed, BeyondEventId(scans, at, inSegment));
            string lost = lostTo > intact
                ? string.Create(CultureInfo.InvariantCulture, $"events {intact + 1}..{lostTo}, written after it, are lost")
                : "no event known to have been committed after it is lost";
            string cause = failure is not null ? $"{failure.Code} ({failure.Message})" : why!;
            var finding = new Finding(FindingSeverity.TornTail, FindingCode.TornTail, scan.Path, inSegment ? scan.ValidEnd : -1, inSegment ? scan.BlockOffsets.Count : -1,
                string.Create(CultureInfo.InvariantCulture,
                    $"{MessageStart}: the log's intact part ends here, after event {intact}, at or past its durable point (event {_durable}); what follows can be writes a crash or a power cut cut short: {cause}; {lost}"),
                failure?.Expected, failure?.Found);
            return new TornEnd(at, inSegment, intact, _durable, endChain, lostTo, finding);
        }
    }

    /// <summary>Rewrites <paramref name="scan"/>'s end as this torn end: its failures at and after the valid end give way to <see cref="Finding"/>, and nothing after the valid prefix (no salvaged block) is read.</summary>
    public void DeclareIn(SegmentScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        scan.RemoveFindings(f => (f.Severity >= FindingSeverity.Damage || f.Code == FindingCode.TornTail) && (f.Offset >= scan.ValidEnd || f.Code == FindingCode.TornTail));
        scan.Add(Finding);
        scan.SalvagedRuns = [];
        scan.State = SegmentState.TornTail;
        scan.EndsTorn = true;
    }

    /// <summary>The information finding for a segment that lies beyond the log's torn end: not part of the log.</summary>
    public Finding Beyond(SegmentScan scan) =>
        new(FindingSeverity.Info, FindingCode.TornTail, scan.Path, -1, -1,
            string.Create(CultureInfo.InvariantCulture, $"written after the log's torn end (after event {LastIntactEventId}); not part of the log: a recorder continuing the log declares it abandoned"));

    /// <summary>Whether every damage finding of <paramref name="scan"/> is a failure after its valid prefix in a segment that was never closed.</summary>
    private static bool OwnDamageMayBeTorn(SegmentScan scan) =>
        scan.Summary is null
        && !scan.Findings.Any(f => f.Code == FindingCode.SummaryCorrupt)
        && scan.Findings.Where(f => f.Severity >= FindingSeverity.Damage).All(f => TailFailures.Contains(f.Code) && f.Offset >= scan.ValidEnd);

    private static bool ClosedFrom(IReadOnlyList<SegmentScan> scans, int at)
    {
        for (int j = at; j < scans.Count; j++)
        {
            if (scans[j].Summary is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a segment after <paramref name="at"/> holds something of <paramref name="log"/> (or an unreadable header that may hide it).</summary>
    private static bool HasDataAfter(IReadOnlyList<SegmentScan> scans, int at, LogId? log)
    {
        for (int j = at + 1; j < scans.Count; j++)
        {
            SegmentScan later = scans[j];
            if (later.Header is { } header ? header.LogId == log && (later.RecordCount > 0 || later.Summary is not null) : !later.NeverWritten)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The highest event id written after the end: later segments' blocks, and blocks beyond the failure in the end segment.</summary>
    private static long BeyondEventId(IReadOnlyList<SegmentScan> scans, int at, bool inSegment)
    {
        long beyond = 0;
        for (int j = at; j < scans.Count; j++)
        {
            beyond = Math.Max(beyond, Math.Max(j == at && inSegment ? 0 : scans[j].LastEventId, scans[j].LaterBlockLastEventId ?? 0));
        }

        return beyond;
    }
}
