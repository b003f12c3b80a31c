using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// The segments of one log met in order, one at a time, and how each joins those before it: no
/// index missing since the last one met (from the log's start, since the checkpoint's first
/// segment), the log's own id, a name that matches its header, the chain continued from the last
/// segment with data, a fence's jump over lost ids, ids that only increase; at the end, the durable
/// ids the checkpoint promised and the segments lack. Recovery judges each segment switch with it.
/// </summary>
/// <remarks>
/// The rules for a pair of segments are <see cref="SegmentLink"/>'s, which the verifier applies to a
/// whole list; what this type adds is what a reader going forward remembers between two segments.
/// The live-log exceptions (a gap that fills while it is read, a segment that must be read again)
/// are <see cref="LiveLog"/>'s and the caller's: this type judges the files as they are.
/// </remarks>
internal sealed class SegmentSequence
{
    private readonly WalCatalog _catalog;
    private readonly bool _live;
    private long? _headFloor;

    /// <param name="catalog">The directory's catalog: its log, its directory, which indices were never written.</param>
    /// <param name="previous">The last segment with data before the first one met; null from the log's start.</param>
    /// <param name="previousIndex">The index listed just before the first one met; -1 from the log's start.</param>
    /// <param name="headFloor">From the log's start, at rest: the first index the checkpoint says the log has (retention's floor).</param>
    /// <param name="live">Whether a recorder may be writing the directory (<see cref="LiveLog.IsLive"/>): then no torn end is declared.</param>
    public SegmentSequence(WalCatalog catalog, SegmentScan? previous, long previousIndex, long? headFloor, bool live)
    {
        _catalog = catalog;
        _live = live;
        Previous = previous;
        PreviousIndex = previousIndex;
        _headFloor = headFloor;
    }

    /// <summary>The last segment met that held data or a summary: the next one's chain must continue it.</summary>
    public SegmentScan? Previous { get; private set; }

    /// <summary>The highest segment index met, whatever it held; -1 before the first.</summary>
    public long PreviousIndex { get; private set; }

    /// <summary>
    /// Damage when indices are missing before <paramref name="index"/>: since the last one met, or,
    /// for the first one met from the log's start, since the checkpoint's first segment. Null when
    /// none is, or the catalog knows they were never written (discarded prepared segments).
    /// </summary>
    public Finding? MissingBefore(long index)
    {
        long before = PreviousIndex >= 0 ? PreviousIndex : _headFloor is long floor ? floor - 1 : -1;
        bool check = PreviousIndex >= 0 || _headFloor is not null;
        _headFloor = null;
        return !check || index < 0 || SegmentLink.CheckIndices(_catalog.Directory, before, index) is not { } missing || _catalog.NeverWrittenBetween(before, index)
            ? null
            : missing;
    }

    /// <summary>Segment <paramref name="index"/> was met (read, judged lost or vanished).</summary>
    public void Met(long index) => PreviousIndex = Math.Max(PreviousIndex, index);

    /// <summary>The indices before <paramref name="index"/> count as met: they are read now, ahead of it.</summary>
    public void MetUpTo(long index) => PreviousIndex = index;

    /// <summary>The damage when <paramref name="scan"/> belongs to another log than the directory's (none of its events are this log's); null when it is this log's.</summary>
    public Finding? Foreign(SegmentScan scan) =>
        scan.Header?.LogId == _catalog.LogId ? null : SegmentLink.Foreign(scan.Path, _catalog.LogId, scan.Header?.LogId);

    /// <summary>
    /// How <paramref name="scan"/> joins the segments before it, in the order a reader meets the
    /// problems: a name that is not its header's index (its events are intact and read in their place),
    /// a chain it does not continue, the ids a fence before it jumps over (unless
    /// <paramref name="lossOpen"/> says damage before the fence already opened that gap), ids that
    /// repeat or go back (skipped, not lost).
    /// </summary>
    /// <param name="scan">The segment entered.</param>
    /// <param name="lastId">The last id read so far; 0 for none.</param>
    /// <param name="from">The first id the reader asked for.</param>
    /// <param name="lossOpen">Whether a loss is open now: asked after the earlier judgements were acted on.</param>
    public IEnumerable<SegmentJoin> Joins(SegmentScan scan, long lastId, long from, Func<bool> lossOpen)
    {
        if (scan.Findings.FirstOrDefault(f => f.Code == FindingCode.SegmentNameMismatch) is { } misnamed)
        {
            yield return new SegmentJoin(misnamed, scan.Path, LostTo: null, LosesEvents: false);
        }

        if (Previous is not null && !Previous.HasDamage && SegmentLink.CheckChain(Previous, scan) is { Severity: >= FindingSeverity.Damage } broken)
        {
            yield return new SegmentJoin(broken, scan.Path, LostTo: null, LosesEvents: true);
        }

        if (Previous is { IsFence: true } && !lossOpen() && SegmentLink.CheckFence(Previous, Math.Max(lastId, from - 1), scan) is { } fenced)
        {
            yield return new SegmentJoin(fenced, Previous.Path, LostTo: scan.FirstEventId - 1, LosesEvents: true);
        }

        if (RepeatsIds(scan, lastId))
        {
            yield return new SegmentJoin(SegmentLink.RepeatsReplayedIds(scan, lastId), scan.Path, LostTo: null, LosesEvents: false);
        }
    }

    /// <summary>Whether <paramref name="scan"/> holds ids at or before <paramref name="lastId"/>, the last one read (a segment out of place).</summary>
    public static bool RepeatsIds(SegmentScan scan, long lastId) => lastId > 0 && scan.RecordCount > 0 && scan.FirstEventId <= lastId;

    /// <summary>
    /// Done with <paramref name="scan"/>: when it held data or a summary, the next one continues its
    /// chain (true); an empty one changes nothing (false).
    /// </summary>
    public bool Finish(SegmentScan scan)
    {
        if (scan.RecordCount == 0 && scan.Summary is null)
        {
            return false;
        }

        Previous = scan;
        return true;
    }

    /// <summary>
    /// What the damage that ended <paramref name="scan"/>'s readable data (after its salvaged runs, if
    /// any) took: up to the summary's last id when the summary is valid, else up to the next event read.
    /// When every event of the segment was read (<paramref name="lastId"/> reached the summary's), damage
    /// outside its blocks (reserved bytes, the zero tail, the file's length) that <paramref name="met"/>
    /// does not know yet, which loses nothing; null when there is none.
    /// </summary>
    public static SegmentJoin? DamageEnding(SegmentScan scan, long lastId, Func<Finding, bool> met)
    {
        long? summaryLast = scan.Summary?.LastEventId;
        if (summaryLast is null || lastId < summaryLast)
        {
            Finding cause = scan.SalvagedRuns.Count == 0
                ? scan.Findings.First(f => f.Severity >= FindingSeverity.Damage)
                : new Finding(FindingSeverity.Damage, FindingCode.BlocksLost, scan.Path, scan.SalvagedRuns[^1].BlockOffsets[^1], -1,
                    "the blocks after the last block that verifies (at this offset) do not verify: their events are lost");
            return new SegmentJoin(cause, scan.Path, summaryLast, LosesEvents: true);
        }

        return scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage && !met(f)) is { } outside
            ? new SegmentJoin(outside, scan.Path, LostTo: null, LosesEvents: false)
            : null;
    }

    /// <summary>
    /// At rest, in the segment where the catalog found the log's torn end: the segment ends after its
    /// valid prefix, its failures are the torn end (FORMAT.md §9.1).
    /// </summary>
    public void DeclareTornEnd(SegmentScan scan)
    {
        if (!_live && _catalog.TornEnd is { InSegment: true } torn && scan.SegmentIndex == _catalog.Segments[torn.Position].SegmentIndex && scan.HasDamage)
        {
            torn.DeclareIn(scan);
        }
    }

    /// <summary>At rest: the torn end the log stops at before a segment a power cut left unwritten or cut off; null when it ends in a segment or intact.</summary>
    public TornEnd? TornEndBeforeSegment => !_live && _catalog.TornEnd is { InSegment: false } torn ? torn : null;

    /// <summary>
    /// At the end of the log: the events the checkpoint says are durable and the segments do not hold,
    /// lost at the end, when any of them is at or after <paramref name="from"/> and after
    /// <paramref name="lastId"/>. After damage that nothing verified follows
    /// (<paramref name="openEnded"/>), where the lost events end is unknown: the durable id is only a
    /// lower bound, so the range stays open.
    /// </summary>
    public SegmentJoin? DurableLost(long lastId, long from, bool openEnded) =>
        _catalog.Findings.FirstOrDefault(f => f.Code == FindingCode.DurableEventsMissing) is { } lost
        && _catalog.Checkpoint is { } meta && meta.DurableEventId > lastId && meta.DurableEventId >= from
            ? new SegmentJoin(lost, lost.File, openEnded ? null : meta.DurableEventId, LosesEvents: true)
            : null;
}

/// <summary>
/// One judgement of how a segment joins the log: the finding, the file it is reported against, and
/// what it takes (<paramref name="LostTo"/>: the last id lost, when known; <paramref name="LosesEvents"/>
/// false for damage that takes no event, like a wrong name or repeated ids).
/// </summary>
internal readonly record struct SegmentJoin(Finding Cause, string Path, long? LostTo, bool LosesEvents);
