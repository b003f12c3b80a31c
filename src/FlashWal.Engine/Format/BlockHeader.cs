using System.Buffers.Binary;

namespace FlashWal.Format;

/// <summary>
/// The 64-byte header that starts every block. A block is self-describing: with its header alone a
/// reader knows its length, place, events and checksums, so a segment that was never closed is
/// readable up to its last sealed block.
/// </summary>
internal readonly record struct BlockHeader(
    int Length,
    int BlockIndex,
    int RecordCount,
    long FirstEventId,
    long LastEventId,
    long SealedUnixNs,
    uint ChainSeed,
    uint DataCrc,
    uint ChainCrc)
{
    internal const int OffMagic = 0;
    internal const int OffLength = 4;
    internal const int OffBlockIndex = 8;
    internal const int OffRecordCount = 12;
    internal const int OffFirstId = 16;
    internal const int OffLastId = 24;
    internal const int OffSealed = 32;
    internal const int OffChainSeed = 40;
    internal const int OffDataCrc = 44;
    internal const int OffChainCrc = 48;
    internal const int OffReserved = 52;
    internal const int OffCrc = 60;

    /// <summary>
    /// Encodes the header into <paramref name="b"/>, computing the chain CRC (from
    /// <see cref="ChainSeed"/> over bytes [0, 48)) and the header CRC. Returns the chain CRC.
    /// <see cref="ChainCrc"/> of this instance is ignored.
    /// </summary>
    public uint Encode(Span<byte> b)
    {
        b = b[..SegmentFormat.BlockHeaderSize];
        WriteFields(b, Length, BlockIndex, RecordCount, FirstEventId, LastEventId, SealedUnixNs);
        return WriteChecksums(b, ChainSeed, DataCrc);
    }

    /// <summary>
    /// Writes a block header's magic and the fields the block's writer knows at its seal; the
    /// checksums are left for <see cref="Complete"/>.
    /// </summary>
    internal static void WriteFields(Span<byte> b, int length, int blockIndex, int recordCount, long firstEventId, long lastEventId, long sealedUnixNs)
    {
        b = b[..SegmentFormat.BlockHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffMagic..], SegmentFormat.BlockMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffLength..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffBlockIndex..], (uint)blockIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffRecordCount..], (uint)recordCount);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffFirstId..], (ulong)firstEventId);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffLastId..], (ulong)lastEventId);
        BinaryPrimitives.WriteInt64LittleEndian(b[OffSealed..], sealedUnixNs);
    }

    /// <summary>
    /// Completes the header of the whole block <paramref name="block"/> (header and data) whose other
    /// fields <see cref="WriteFields"/> wrote: the chain seed <paramref name="chainSeed"/>, the CRC of the
    /// data after the header, the chain CRC and the header CRC, the same bytes <see cref="Encode"/>
    /// writes. Returns the chain CRC (the next block's seed). The first <paramref name="dataDone"/> bytes
    /// of data are already fed into the raw CRC register <paramref name="dataRegister"/> (0 and
    /// <see cref="Crc32C.Begin"/> when none are): only the rest is read now.
    /// </summary>
    internal static uint Complete(Span<byte> block, uint chainSeed, uint dataRegister, int dataDone) =>
        WriteChecksums(block[..SegmentFormat.BlockHeaderSize], chainSeed,
            Crc32C.Finish(Crc32C.Update(dataRegister, block[(SegmentFormat.BlockHeaderSize + dataDone)..])));

    /// <summary>Writes the chain seed, the data CRC, the chain CRC, the reserved zeros and the header CRC into header <paramref name="b"/>; returns the chain CRC.</summary>
    private static uint WriteChecksums(Span<byte> b, uint chainSeed, uint dataCrc)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffChainSeed..], chainSeed);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffDataCrc..], dataCrc);
        uint chain = ComputeChainCrc(chainSeed, b);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffChainCrc..], chain);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffReserved..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffCrc..], ComputeCrc(b));
        return chain;
    }

    /// <summary>Decodes the fields without judging them.</summary>
    public static BlockHeader Read(ReadOnlySpan<byte> b) => new(
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffLength..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffBlockIndex..]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(b[OffRecordCount..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffFirstId..]),
        (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffLastId..]),
        BinaryPrimitives.ReadInt64LittleEndian(b[OffSealed..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OffChainSeed..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OffDataCrc..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[OffChainCrc..]));

    /// <summary>The magic stored at the start of <paramref name="b"/>.</summary>
    public static uint StoredMagic(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32LittleEndian(b);

    /// <summary>The header CRC stored in <paramref name="b"/>.</summary>
    public static uint StoredCrc(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32LittleEndian(b[OffCrc..]);

    /// <summary>The reserved bytes [52, 60), which must be zero.</summary>
    public static ulong StoredReserved(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt64LittleEndian(b[OffReserved..]);

    /// <summary>CRC-32C over bytes [0, 60) of a block header.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> b) => Crc32C.Compute(b[..OffCrc]);

    /// <summary>The chain CRC: CRC-32C continued from <paramref name="seed"/> over header bytes [0, 48).</summary>
    public static uint ComputeChainCrc(uint seed, ReadOnlySpan<byte> b) => Crc32C.Append(seed, b[..OffChainCrc]);
}
