using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// How two segments of one log must join: consecutive indices, the later one's block 0 continuing the
/// earlier one's chain, and increasing event ids. The verifier judges a directory with it and recovery
/// judges each segment switch with it, so both say the same thing about the same files.
/// </summary>
internal static class SegmentLink
{
    /// <summary>What every reader says of a segment whose header names another log than the one the directory is judged to hold.</summary>
    public const string ForeignMessage = "the segment belongs to another log";

    /// <summary>
    /// The damage of a segment at <paramref name="path"/> whose header names log <paramref name="found"/>
    /// where log <paramref name="log"/> was expected (its offset: the header's log id). The one place
    /// the finding is built; <paramref name="message"/> says which rule chose the expected log where
    /// it is not the directory's (the recorder's open compares with the newest segment).
    /// </summary>
    internal static Finding Foreign(string path, LogId? log, LogId? found, string message = ForeignMessage) =>
        new(FindingSeverity.Damage, FindingCode.ForeignSegment, path, SegmentHeader.OffLogId, -1, message, log?.ToString(), found?.ToString());

    /// <summary>
    /// Why repair cannot tell which segments of a directory are foreign: the checkpoint at
    /// <paramref name="directory"/> names <paramref name="named"/>, not <paramref name="most"/>, the log
    /// of most segments (an Error: nothing is judged foreign then).
    /// </summary>
    internal static Finding CheckpointNamesMinority(string directory, LogId? most, LogId named) =>
        new(FindingSeverity.Error, FindingCode.ForeignSegment, Path.Combine(directory, MetaCheckpoint.FileName), MetaCheckpoint.OffLogId, -1,
            "the checkpoint names another log than most segments: repair cannot tell which segments are this directory's", most?.ToString(), named.ToString());

    /// <summary>Why repair cannot tell which segments are foreign: <paramref name="count"/> segments each of two logs and no checkpoint naming one (an Error).</summary>
    internal static Finding LogsTied(string directory, LogId first, LogId second, int count) =>
        new(FindingSeverity.Error, FindingCode.ForeignSegment, directory, -1, -1,
            string.Create(CultureInfo.InvariantCulture, $"as many segments belong to log {first} as to log {second} ({count} each) and no checkpoint names one: repair cannot tell which are this directory's"));

    /// <summary>Damage when indices between <paramref name="previousIndex"/> and <paramref name="nextIndex"/> are missing; otherwise null.</summary>
    public static Finding? CheckIndices(string directory, long previousIndex, long nextIndex)
    {
        if (nextIndex <= previousIndex + 1)
        {
            return null;
        }

        long from = previousIndex + 1;
        long to = nextIndex - 1;
        string where = previousIndex < 0 ? $"at the head of the log, before {Hex.Of(to + 1)}" : $"between {Hex.Of(from - 1)} and {Hex.Of(to + 1)}";
        return new Finding(FindingSeverity.Damage, FindingCode.SegmentMissing, Path.Combine(directory, SegmentFileName.Format(from)), -1, -1,
            from == to ? $"segment {Hex.Of(from)} is missing {where}" : $"segments {Hex.Of(from)} to {Hex.Of(to)} are missing",
            SegmentFileName.Format(from), SegmentFileName.Format(to + 1));
    }

    /// <summary>
    /// Whether <paramref name="next"/> continues <paramref name="previous"/> (the last earlier segment
    /// of the log that holds data): damage when its chain seed or its first id does not follow, an
    /// <see cref="FindingSeverity.Info"/> finding when ids jump over an intact chain (written so), null
    /// when they join, or when either side cannot tell (no block 0, no final chain).
    /// </summary>
    public static Finding? CheckChain(SegmentScan previous, SegmentScan next)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(next);
        if (next.ChainSeed is not uint seed || previous.FinalChain is not uint chain)
        {
            return null;
        }

        if (seed != chain)
        {
            return ChainNotContinued(next.Path, previous.SegmentIndex, chain, seed);
        }

        if (next.FirstEventId <= previous.LastEventId)
        {
            return new Finding(FindingSeverity.Damage, FindingCode.EventIdOrder, next.Path,
                SegmentFormat.DataOffset + BlockHeader.OffFirstId, 0,
                $"the first event id does not follow segment {Hex.Of(previous.SegmentIndex)}'s last",
                "> " + previous.LastEventId.ToString(CultureInfo.InvariantCulture), next.FirstEventId.ToString(CultureInfo.InvariantCulture));
        }

        if (next.FirstEventId != previous.LastEventId + 1 && previous.RecordCount > 0)
        {
            return new Finding(FindingSeverity.Info, FindingCode.EventIdJump, next.Path,
                SegmentFormat.DataOffset + BlockHeader.OffFirstId, 0,
                $"event ids jump from segment {Hex.Of(previous.SegmentIndex)}; the chain is intact, so they were written so",
                (previous.LastEventId + 1).ToString(CultureInfo.InvariantCulture), next.FirstEventId.ToString(CultureInfo.InvariantCulture));
        }

        return null;
    }

    /// <summary>
    /// Damage when <paramref name="next"/>'s first id jumps over ids after <paramref name="lastIdBefore"/>
    /// (the last event readable before <paramref name="fence"/>): a repair fenced the log because it had
    /// held ids it no longer has, and the recorder continued above them (docs/FORMAT.md §16.2). Null
    /// when the ids join, or when <paramref name="next"/> holds no event.
    /// </summary>
    public static Finding? CheckFence(SegmentScan fence, long lastIdBefore, SegmentScan next)
    {
        ArgumentNullException.ThrowIfNull(fence);
        ArgumentNullException.ThrowIfNull(next);
        if (next.RecordCount == 0 || next.FirstEventId <= lastIdBefore + 1)
        {
            return null;
        }

        long from = lastIdBefore + 1;
        long to = next.FirstEventId - 1;
        return new Finding(FindingSeverity.Damage, FindingCode.FencedLoss, fence.Path, SegmentFormat.SummaryOffset, -1,
            string.Create(CultureInfo.InvariantCulture, $"a repair fenced the log here: events {from}..{to} ({to - from + 1}), held by the log before, are lost"),
            from.ToString(CultureInfo.InvariantCulture), next.FirstEventId.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// A replay met <paramref name="scan"/>, whose first event is not above <paramref name="lastReplayed"/>,
    /// the last id it has replayed: replayed ids only ever increase, so what repeats or goes back (a
    /// segment out of place) is skipped.
    /// </summary>
    public static Finding RepeatsReplayedIds(SegmentScan scan, long lastReplayed)
    {
        ArgumentNullException.ThrowIfNull(scan);
        return new(FindingSeverity.Damage, FindingCode.EventIdOrder, scan.Path, SegmentFormat.DataOffset + BlockHeader.OffFirstId, 0,
            "the segment's events do not follow those already replayed; the ones at or below the last replayed id are skipped",
            "> " + lastReplayed.ToString(CultureInfo.InvariantCulture), scan.FirstEventId.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Block 0 of the segment at <paramref name="path"/> does not carry the chain value that segment <paramref name="previousIndex"/> ended with.</summary>
    public static Finding ChainNotContinued(string path, long previousIndex, uint expected, uint found) =>
        new(FindingSeverity.Damage, FindingCode.ChainBrokenAcrossSegments, path, SegmentFormat.DataOffset + BlockHeader.OffChainSeed, 0,
            $"block 0 does not continue the chain of segment {Hex.Of(previousIndex)}: events between them are missing or a segment was replaced",
            Hex.Of(expected), Hex.Of(found));

    /// <summary>Block 0 of segment 0 (at <paramref name="path"/>) does not carry the log's genesis seed.</summary>
    public static Finding GenesisSeedWrong(string path, uint expected, uint found) =>
        new(FindingSeverity.Damage, FindingCode.ChainBroken, path, SegmentFormat.DataOffset + BlockHeader.OffChainSeed, 0,
            "block 0 of segment 0 must carry the log's genesis seed, the CRC-32C of its log id", Hex.Of(expected), Hex.Of(found));
}
