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

    /// <summary>
    /// Decodes and judges 64 summary bytes: the summary when magic, CRC, flags and reserved bytes are
    /// all valid; otherwise null and what is wrong (offset within the summary, message, expected,
    /// found). The one place that decides whether a segment is closed.
    /// </summary>
    public static SegmentSummary? TryRead(ReadOnlySpan<byte> b, out (int Offset, string Message, string Expected, string Found)? problem)
    {
        b = b[..SegmentFormat.SummarySize];
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b[OffCrc..]);
        uint computed = ComputeCrc(b);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(b[OffFlags..]);
        problem = magic != SegmentFormat.SummaryMagic ? (OffMagic, "the summary area holds bytes but no summary magic", Hex.Of(SegmentFormat.SummaryMagic), Hex.Of(magic))
            : stored != computed ? (OffCrc, "the summary's CRC does not match its bytes [512, 572)", Hex.Of(stored), Hex.Of(computed))
            : (flags & ~SegmentFormat.KnownSummaryFlags) != 0 ? (OffFlags, "unknown summary flags", Hex.Of(SegmentFormat.KnownSummaryFlags), Hex.Of(flags))
            : BinaryPrimitives.ReadUInt32LittleEndian(b[OffReserved..]) != 0 ? (OffReserved, "reserved summary bytes are not zero", "0", "non-zero")
            : null;
        return problem is null ? Read(b) : null;
    }

    /// <summary>CRC-32C over bytes [0, 60) of the summary.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> b) => Crc32C.Compute(b[..OffCrc]);
}
