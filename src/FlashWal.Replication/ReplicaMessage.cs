using System.Buffers.Binary;
using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Replication;

/// <summary>
/// One message of a replica stream (FORMAT.md §19): a 96-byte header, then a body of the segment's
/// own bytes. The header says which log and segment the body belongs to and where it goes, and how
/// far the log is shipped once it is stored (the cursor: last event id, chain, the segment whose
/// blocks come next and where, the first segment whose close is still to come), so that a shipper
/// resumes from the stream's last message alone; its CRC-32C covers the header and the body.
/// </summary>
public readonly record struct ReplicaMessage(
    ReplicaMessageKind Kind,
    LogId LogId,
    long SegmentIndex,
    long Offset,
    long FirstEventId,
    long LastEventId,
    uint Chain,
    long CursorSegment,
    long CursorOffset,
    long PendingFrom,
    ReadOnlyMemory<byte> Body)
{
    /// <summary>Header bytes before the body.</summary>
    public const int HeaderSize = 96;

    /// <summary>The header's first four bytes, ASCII <c>FWRM</c>.</summary>
    public const uint Magic = 0x4D52_5746;

    /// <summary>The message layout's version.</summary>
    public const byte Version = 1;

    private const int OffMagic = 0;
    private const int OffVersion = 4;
    private const int OffKind = 5;
    private const int OffLogId = 8;
    private const int OffSegment = 24;
    private const int OffOffset = 32;
    private const int OffFirstId = 40;
    private const int OffLastId = 48;
    private const int OffChain = 56;
    private const int OffBodyLength = 60;
    private const int OffCursorSegment = 64;
    private const int OffCursorOffset = 72;
    private const int OffPendingFrom = 80;
    private const int OffCrc = 92;

    /// <summary>The message's <c>Nats-Msg-Id</c> (<see cref="IdOf"/>).</summary>
    public string MessageId => IdOf(LogId, SegmentIndex, Kind, Offset, Body.Length, CursorSegment, CursorOffset, PendingFrom);

    /// <summary>
    /// The <c>Nats-Msg-Id</c> of a message: the part (log, segment, kind, offset, body length) and
    /// the cursor it leaves (the segment and offset the next blocks go to, the first segment whose
    /// close is still to come). The bytes at a place in a log never change, so the id names the whole
    /// message, header and body: the same message published twice is stored once, and two messages
    /// that differ anywhere never share an id. That is what makes the order check sound: a message
    /// is stored only after the message its shipper published before it, and two shippers (a killed
    /// process whose last publishes land late, and its successor) may place the closes among the
    /// blocks differently, so the same blocks can leave two cursors. Were those two one id, the one
    /// shipper's next message could follow the other's blocks and skip a close (FORMAT.md §19.2).
    /// </summary>
    public static string IdOf(LogId logId, long segmentIndex, ReplicaMessageKind kind, long offset, int bodyLength, long cursorSegment, long cursorOffset, long pendingFrom) =>
        string.Create(CultureInfo.InvariantCulture, $"{logId}:{segmentIndex}:{kind.ToString().ToLowerInvariant()}:{offset}:{bodyLength}:{cursorSegment}:{cursorOffset}:{pendingFrom}");

    /// <summary>Writes the header for a body of <paramref name="bodyLength"/> bytes into <paramref name="destination"/>[0, 96) and the CRC over it and the body that follows it there.</summary>
    public static void WriteHeader(Span<byte> destination, ReplicaMessageKind kind, LogId logId, long segmentIndex, long offset,
        long firstEventId, long lastEventId, uint chain, long cursorSegment, long cursorOffset, long pendingFrom, int bodyLength)
    {
        Span<byte> h = destination[..HeaderSize];
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h[OffMagic..], Magic);
        h[OffVersion] = Version;
        h[OffKind] = (byte)kind;
        logId.WriteTo(h[OffLogId..]);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffSegment..], segmentIndex);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffOffset..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffFirstId..], firstEventId);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffLastId..], lastEventId);
        BinaryPrimitives.WriteUInt32LittleEndian(h[OffChain..], chain);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffCursorSegment..], cursorSegment);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffCursorOffset..], cursorOffset);
        BinaryPrimitives.WriteInt64LittleEndian(h[OffPendingFrom..], pendingFrom);
        BinaryPrimitives.WriteInt32LittleEndian(h[OffBodyLength..], bodyLength);
        uint crc = Crc32C.Append(Crc32C.Compute(h[..OffCrc]), destination.Slice(HeaderSize, bodyLength));
        BinaryPrimitives.WriteUInt32LittleEndian(h[OffCrc..], crc);
    }

    /// <summary>Decodes and checks a message (magic, version, kind, length, CRC); null with the reason when it is not a valid one.</summary>
    public static ReplicaMessage? TryRead(ReadOnlyMemory<byte> message, out string? problem)
    {
        ReadOnlySpan<byte> m = message.Span;
        problem = null;
        if (m.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic)
        {
            problem = $"it is not a FlashWal replica message ({m.Length} bytes, no FWRM header)";
            return null;
        }

        if (m[OffVersion] != Version)
        {
            problem = $"it is a replica message of version {m[OffVersion]}; this build reads version {Version}";
            return null;
        }

        int bodyLength = BinaryPrimitives.ReadInt32LittleEndian(m[OffBodyLength..]);
        var kind = (ReplicaMessageKind)m[OffKind];
        if (!Enum.IsDefined(kind) || bodyLength != m.Length - HeaderSize)
        {
            problem = $"its header is damaged (kind {m[OffKind]}, body length {bodyLength} of {m.Length - HeaderSize})";
            return null;
        }

        uint crc = Crc32C.Append(Crc32C.Compute(m[..OffCrc]), m[HeaderSize..]);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(m[OffCrc..]))
        {
            problem = "its CRC does not match its bytes";
            return null;
        }

        return new ReplicaMessage(kind, LogId.Read(m[OffLogId..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffSegment..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffFirstId..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffLastId..]),
            BinaryPrimitives.ReadUInt32LittleEndian(m[OffChain..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffCursorSegment..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffCursorOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(m[OffPendingFrom..]),
            message[HeaderSize..]);
    }
}
