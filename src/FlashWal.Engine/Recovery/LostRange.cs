using FlashWal.Inspection;

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

    /// <inheritdoc />
    public override string ToString() =>
        LastEventId is long last
            ? FormattableString.Invariant($"events {FirstEventId}..{last} ({last - FirstEventId + 1}) lost: {Cause}")
            : FormattableString.Invariant($"events from {FirstEventId} on lost: {Cause}");
}
