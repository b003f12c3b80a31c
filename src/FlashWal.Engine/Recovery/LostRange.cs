using FlashWal.Format;

namespace FlashWal.Recovery;

/// <summary>Event ids that the log should hold and recovery could not replay, with the cause.</summary>
/// <param name="FirstEventId">The first id lost: one past the last event replayed before the damage.</param>
/// <param name="LastEventId">
/// The last id lost: one before the first event replayed after it; null when nothing verified follows
/// and no summary says where the damaged data ended.
/// </param>
/// <param name="Cause">The damage or gap: file, offset, block, expected and found.</param>
public sealed record LostRange(long FirstEventId, long? LastEventId, Finding Cause)
{
    /// <summary>How many ids, when the range is bounded.</summary>
    public long? Count => LastEventId is long last ? last - FirstEventId + 1 : null;

    /// <summary>How much <paramref name="ranges"/> add up to: "<c>N event(s) in M range(s)</c>", and "<c>an unknown number at the end</c>" when one is unbounded.</summary>
    public static string Total(IReadOnlyCollection<LostRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        long events = ranges.Sum(r => r.Count ?? 0);
        bool open = ranges.Any(r => r.LastEventId is null);
        return FormattableString.Invariant($"{events} event(s) in {ranges.Count} range(s){(open ? " and an unknown number at the end" : "")}");
    }

    /// <inheritdoc />
    public override string ToString() =>
        LastEventId is long last
            ? FormattableString.Invariant($"events {FirstEventId}..{last} ({last - FirstEventId + 1}) lost: {Cause}")
            : FormattableString.Invariant($"events from {FirstEventId} on lost: {Cause}");
}
