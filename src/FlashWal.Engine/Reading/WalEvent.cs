using System.Buffers.Binary;
using FlashWal.Format;

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

    /// <summary>
    /// The record at <paramref name="record"/> in a verified block, in place; <paramref name="size"/> is
    /// how far the next record is (the record header, the payload and its padding).
    /// </summary>
    internal static unsafe WalEvent At(byte* record, out int size)
    {
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(record, 4));
        size = SegmentFormat.RecordSize(length);
        return new WalEvent(
            BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(record + 8, 8)),
            BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(record + 16, 8)),
            BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(record + 4, 2)),
            new ReadOnlySpan<byte>(record + SegmentFormat.RecordHeaderSize, length));
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
