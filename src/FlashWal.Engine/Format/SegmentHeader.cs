using System.Buffers.Binary;

namespace FlashWal.Format;

/// <summary>
/// The 128-byte header at offset 0 of a segment. Written once, when the file is created, before the
/// file gets its segment name; never rewritten.
/// </summary>
public readonly record struct SegmentHeader(
    ushort Version,
    LogId LogId,
    long SegmentIndex,
    long Capacity,
    int BlockSize,
    int DataOffset,
    long CreatedUnixNs)
{
    internal const int OffMagic = 0;
    internal const int OffVersion = 8;
    internal const int OffHeaderSize = 10;
    internal const int OffFlags = 12;
    internal const int OffLogId = 16;
    internal const int OffSegmentIndex = 32;
    internal const int OffCapacity = 40;
    internal const int OffBlockSize = 48;
    internal const int OffDataOffset = 52;
    internal const int OffCreated = 56;
    internal const int OffReserved = 64;
    internal const int OffCrc = 124;

    /// <summary>Encodes the header, its CRC included, into the first 128 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> b = destination[..SegmentFormat.HeaderSize];
        b.Clear();
        SegmentFormat.Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b[OffVersion..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b[OffHeaderSize..], SegmentFormat.HeaderSize);
        LogId.WriteTo(b[OffLogId..]);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffSegmentIndex..], (ulong)SegmentIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffCapacity..], (ulong)Capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffBlockSize..], (uint)BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffDataOffset..], (uint)DataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(b[OffCreated..], CreatedUnixNs);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffCrc..], ComputeCrc(b));
    }

    /// <summary>Decodes the fields of a header without judging them (see <see cref="Inspection.SegmentScanner"/>).</summary>
    public static SegmentHeader Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(b[OffVersion..]),
        LogId.Read(b[OffLogId..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffSegmentIndex..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffCapacity..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffBlockSize..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffDataOffset..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[OffCreated..]));

    /// <summary>CRC-32C over bytes [0, 124) of the header.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> b) => Crc32C.Compute(b[..OffCrc]);

    /// <summary>The CRC stored in the header.</summary>
    public static uint StoredCrc(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32LittleEndian(b[OffCrc..]);
}
