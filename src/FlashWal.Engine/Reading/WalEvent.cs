namespace FlashWal.Reading;

/// <summary>
/// One event, read in place from a mapped segment: the payload is a view of the file's bytes, valid
/// until the reader moves on or is disposed. Copy what must outlive that.
/// </summary>
public readonly ref struct WalEvent
{
    internal WalEvent(long eventId, long timestampUnixNs, ushort type, ReadOnlySpan<byte> payload)
    {
        EventId = eventId;
        TimestampUnixNs = timestampUnixNs;
        Type = type;
        Payload = payload;
    }

    /// <summary>The event id (≥ 1, strictly increasing through the log).</summary>
    public long EventId { get; }

    /// <summary>When the event was appended, in nanoseconds since the Unix epoch (UTC).</summary>
    public long TimestampUnixNs { get; }

    /// <summary>The application's type tag.</summary>
    public ushort Type { get; }

    /// <summary>The payload bytes, in place.</summary>
    public ReadOnlySpan<byte> Payload { get; }
}
