using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Whether the next segment of a log joins the ones before it, by the rules the verifier and
/// recovery use (<see cref="SegmentLink"/>): no index missing between them, block 0 carrying the
/// chain the last earlier segment with data ended with, ids going on. For readers outside the engine
/// that meet segments one at a time (a log read from a replica).
/// </summary>
public static class SegmentContinuity
{
    /// <summary>Damage when indices between <paramref name="previousIndex"/> and <paramref name="nextIndex"/> are missing from <paramref name="source"/>; otherwise null.</summary>
    public static Finding? Missing(string source, long previousIndex, long nextIndex) => SegmentLink.CheckIndices(source, previousIndex, nextIndex);

    /// <summary>
    /// Damage when <paramref name="next"/> does not continue <paramref name="previous"/> (the last
    /// earlier segment that holds data): chain or id order; an <see cref="FindingSeverity.Info"/>
    /// finding when ids jump over an intact chain; null when they join.
    /// </summary>
    public static Finding? Chain(SegmentScan previous, SegmentScan next) => SegmentLink.CheckChain(previous, next);
}
