using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recovery;

/// <summary>
/// What a replay from an event id reads: the catalog's segments from the one it starts in, and what
/// it knows of those before (the last one with data, whose chain the first must continue, and the
/// last index, after which none may be missing).
/// </summary>
/// <param name="Segments">The segments to read, in order (files of zeros that never got a header left out).</param>
/// <param name="Previous">The last segment of the log with data before the start; null from the log's start.</param>
/// <param name="PreviousIndex">The index of the segment listed just before the start; -1 from the log's start.</param>
/// <param name="HeadFloor">From the log's start, at rest: the first segment index the checkpoint says the log has (retention's floor).</param>
internal sealed record ReplayPlan(List<SegmentScan> Segments, SegmentScan? Previous, long PreviousIndex, long? HeadFloor)
{
    /// <summary>
    /// The position in <paramref name="catalog"/>'s segments where a replay from <paramref name="eventId"/>
    /// starts; -1 when there is nothing to replay.
    /// </summary>
    /// <remarks>
    /// The first segment of the log whose events reach the id, or the damaged, unreadable or foreign
    /// segments just before it when the id may have been in them (so that the loss is reported, or
    /// strict mode stops). Past the segments' last event but not past the checkpoint's durable one,
    /// the end: those events were lost, which the end of the log reports, not "nothing to replay".
    /// </remarks>
    public static int StartOf(WalCatalog catalog, long eventId)
    {
        IReadOnlyList<SegmentScan> all = catalog.Segments;
        int found = -1;
        for (int i = 0; i < all.Count; i++)
        {
            SegmentScan s = all[i];
            if (s.Header?.LogId == catalog.LogId && s.RecordCount > 0 && s.LastEventId >= eventId && s.State != SegmentState.Damaged)
            {
                found = i;
                break;
            }
        }

        if (found >= 0 && eventId >= all[found].FirstEventId)
        {
            return found; // the id is inside this segment's range
        }

        // The id precedes `found` (or every intact segment): it may have been in the damaged, unreadable
        // or foreign files just before it, back to the last intact segment that ends before the id.
        int limit = found < 0 ? all.Count : found;
        int start = limit;
        while (start > 0 && MayHaveHeld(all[start - 1]))
        {
            start--;
        }

        if (start < limit)
        {
            return start;
        }

        bool durableBeyond = catalog.Checkpoint is { } meta && meta.DurableEventId >= eventId && catalog.Findings.Any(f => f.Code == FindingCode.DurableEventsMissing);
        return found < 0 && durableBeyond ? all.Count : found;

        bool MayHaveHeld(SegmentScan s) =>
            !s.NeverWritten && (s.State is SegmentState.Damaged or SegmentState.Unreadable || s.Header?.LogId != catalog.LogId || s.LastEventId >= eventId);
    }

    /// <summary>
    /// The plan from position <paramref name="start"/> (<see cref="StartOf"/>). On a
    /// <paramref name="live"/> log it starts earlier at segments the catalog found empty, which may
    /// hold the first events by now (<see cref="LiveLog.MayHaveFilledSince"/>).
    /// </summary>
    public static ReplayPlan From(WalCatalog catalog, int start, bool live)
    {
        IReadOnlyList<SegmentScan> all = catalog.Segments;
        while (live && start > 0 && LiveLog.MayHaveFilledSince(all[start - 1]))
        {
            start--;
        }

        return new(
            [.. all.Skip(start).Where(s => !s.NeverWritten)],
            all.Take(start).LastOrDefault(s => s.Header?.LogId == catalog.LogId && (s.RecordCount > 0 || s.Summary is not null)),
            start > 0 ? all[start - 1].SegmentIndex : -1,
            // From the log's first segment: where the checkpoint says the log starts, so that segments
            // missing at the head are a loss, not taken for retention (FORMAT.md §13).
            start == 0 && !live ? SegmentVerifier.FirstIndexOf(catalog.Checkpoint, catalog.LogId) : null);
    }
}
