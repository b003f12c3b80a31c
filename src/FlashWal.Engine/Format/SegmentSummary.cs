using System.Buffers.Binary;

namespace FlashWal.Format;

/// <summary>
/// The 64-byte summary at offset 512, written once when a segment is closed. All zeros until then.
/// </summary>
public readonly record struct SegmentSummary(
    uint Flags,
    long DataEnd,
    int BlockCount,
    uint FinalChain,
    long RecordCount,
    long FirstEventId,
    long LastEventId,
    long ClosedUnixNs)
{
    internal const int OffMagic = 0;
    internal const int OffFlags = 4;
    internal const int OffDataEnd = 8;
    internal const int OffBlockCount = 16;
    internal const int OffFinalChain = 20;
    internal const int OffRecordCount = 24;
    internal const int OffFirstId = 32;
    internal const int OffLastId = 40;
    internal const int OffClosed = 48;
    internal const int OffReserved = 56;
    internal const int OffCrc = 60;

    /// <summary>Whether the segment was closed by crash recovery (its tail after <see cref="DataEnd"/> is abandoned).</summary>
    public bool IsRecoveredClose => (Flags & SegmentFormat.SummaryFlagRecoveredClose) != 0;

    /// <summary>Encodes the summary, magic and CRC included, into the first 64 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> b = destination[..SegmentFormat.SummarySize];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffMagic..], SegmentFormat.SummaryMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffFlags..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffDataEnd..], (ulong)DataEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffBlockCount..], (uint)BlockCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffFinalChain..], FinalChain);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffRecordCount..], (ulong)RecordCount);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffFirstId..], (ulong)FirstEventId);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffLastId..], (ulong)LastEventId);
        BinaryPrimitives.WriteInt64LittleEndian(b[OffClosed..], ClosedUnixNs);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffCrc..], ComputeCrc(b));
    }

    /// <summary>Decodes the fields without judging them.</summary>
    public static SegmentSummary Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b[OffFlags..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffDataEnd..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffBlockCount..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OffFinalChain..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffRecordCount..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffFirstId..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffLastId..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[OffClosed..]));

    /// <summary>CRC-32C over bytes [0, 60) of the summary.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> b) => Crc32C.Compute(b[..OffCrc]);
}
