using FlashWal.Format;

namespace FlashWal.Replication;

/// <summary>
/// How far a log is shipped, as the stream's last message says: the segment being shipped and where
/// its next block goes, the last event id and chain shipped, and the first segment whose close is
/// still to come. A shipper starts from it, and starts from it again after every failure: never from
/// a guess of its own.
/// </summary>
internal sealed record ShipPosition
{
    /// <summary>The segment whose blocks were shipped last (-1: none yet).</summary>
    public long Segment { get; init; } = -1;

    /// <summary>Where the next block of <see cref="Segment"/> goes.</summary>
    public long NextOffset { get; init; } = SegmentFormat.DataOffset;

    /// <summary>The last event id shipped (0: none).</summary>
    public long LastEventId { get; init; }

    /// <summary>The chain CRC of the last block shipped; null before the first.</summary>
    public uint? Chain { get; init; }

    /// <summary>The first segment whose close is not shipped (-1: none opened yet).</summary>
    public long PendingFrom { get; init; } = -1;

    /// <summary>Of segment <see cref="PendingFrom"/>, the stray bytes before this offset are shipped already (a close cut short).</summary>
    public long StraysShippedTo { get; init; }

    /// <summary>The <c>Nats-Msg-Id</c> of the stream's last message; null when the stream is empty.</summary>
    public string? LastMessageId { get; init; }

    /// <summary>Where the stream's last message, stored under <paramref name="storedId"/>, leaves the log (its cursor).</summary>
    public static ShipPosition After(ReplicaMessage? last, string? storedId) => last is not { } m
        ? new ShipPosition()
        : new ShipPosition
        {
            Segment = m.CursorSegment,
            NextOffset = m.CursorOffset,
            LastEventId = m.LastEventId,
            Chain = m.LastEventId == 0 ? null : m.Chain,
            PendingFrom = m.PendingFrom,
            StraysShippedTo = m.Kind == ReplicaMessageKind.Stray ? m.Offset + m.Body.Length : 0,
            LastMessageId = storedId,
        };
}
