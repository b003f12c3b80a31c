using System.Buffers.Binary;

namespace FlashWal.Format;

/// <summary>The 24-byte header in front of every record's payload.</summary>
internal readonly record struct RecordHeader(int PayloadLength, ushort Type, ushort Flags, long EventId, long TimestampUnixNs)
{
    internal const int OffLength = 0;
    internal const int OffType = 4;
    internal const int OffFlags = 6;
    internal const int OffEventId = 8;
    internal const int OffTimestamp = 16;

    /// <summary>Decodes a record header.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // per record, in every scan and replay
    public static RecordHeader Read(ReadOnlySpan<byte> b) => new(
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffLength..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[OffType..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[OffFlags..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffEventId..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[OffTimestamp..]));
}
