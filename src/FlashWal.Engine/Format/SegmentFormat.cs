namespace FlashWal.Format;

/// <summary>
/// The constants of FlashWal's on-disk format, version 1. <c>docs/FORMAT.md</c> explains each one;
/// change one here and that page changes in the same commit.
/// </summary>
public static class SegmentFormat
{
    /// <summary>The format version this build writes and the newest it reads.</summary>
    public const ushort Version = 1;

    /// <summary>The first eight bytes of every segment file: ASCII "FLASHWAL".</summary>
    public static ReadOnlySpan<byte> Magic => "FLASHWAL"u8;

    /// <summary>The segment header occupies bytes [0, 128) and never changes after the file is created.</summary>
    public const int HeaderSize = 128;

    /// <summary>The summary written at close lives in its own 512-byte sector, so writing it never touches the header's sector.</summary>
    public const int SummaryOffset = 512;

    /// <summary>Size of the summary record.</summary>
    public const int SummarySize = 64;

    /// <summary>The first block starts at the second 4 KiB page.</summary>
    public const int DataOffset = 4096;

    /// <summary>Every block starts at a multiple of 64 bytes and its length is a multiple of 64.</summary>
    public const int BlockAlignment = 64;

    /// <summary>Size of a block header.</summary>
    public const int BlockHeaderSize = 64;

    /// <summary>Size of a record header.</summary>
    public const int RecordHeaderSize = 24;

    /// <summary>Every record starts at a multiple of 8 bytes within its block.</summary>
    public const int RecordAlignment = 8;

    /// <summary>The page size that segment capacities are a multiple of.</summary>
    public const int PageSize = 4096;

    /// <summary>"FWBK" read as a little-endian u32: the first four bytes of every block.</summary>
    public const uint BlockMagic = 0x4B42_5746;

    /// <summary>"FWSM" read as a little-endian u32: the first four bytes of a written summary.</summary>
    public const uint SummaryMagic = 0x4D53_5746;

    /// <summary>Summary flag: the segment was closed by recovery after a crash; bytes after its data end are an abandoned, never-committed tail.</summary>
    public const uint SummaryFlagRecoveredClose = 1;

    /// <summary>All summary flags this version defines.</summary>
    public const uint KnownSummaryFlags = SummaryFlagRecoveredClose;

    /// <summary>Smallest allowed block size.</summary>
    public const int MinBlockSize = 4096;

    /// <summary>Largest allowed block size.</summary>
    public const int MaxBlockSize = 16 * 1024 * 1024;

    /// <summary>Default block size (see docs/FORMAT.md for the measurement behind it).</summary>
    public const int DefaultBlockSize = 64 * 1024;

    /// <summary>Default segment size.</summary>
    public const long DefaultSegmentSize = 64L * 1024 * 1024;

    /// <summary>Largest allowed segment size: block offsets stay well inside 64 bits and a mapping stays reasonable.</summary>
    public const long MaxSegmentSize = 1L << 40;

    /// <summary>Smallest event id; 0 means "no event".</summary>
    public const long MinEventId = 1;

    /// <summary>The largest payload a block of <paramref name="blockSize"/> bytes holds.</summary>
    public static int MaxPayloadSize(int blockSize) => blockSize - BlockHeaderSize - RecordHeaderSize;

    /// <summary>Bytes a record with <paramref name="payloadLength"/> bytes of payload occupies, padding included.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int RecordSize(int payloadLength) => (RecordHeaderSize + payloadLength + (RecordAlignment - 1)) & -RecordAlignment;

    /// <summary>The chain seed of a log's very first block: the CRC-32C of its 16-byte log id.</summary>
    public static uint GenesisChainSeed(LogId logId)
    {
        Span<byte> bytes = stackalloc byte[LogId.Size];
        logId.WriteTo(bytes);
        return Crc32C.Compute(bytes);
    }

    internal static int AlignUp(int value, int alignment) => (value + alignment - 1) & -alignment;

    internal static long AlignUp(long value, long alignment) => (value + alignment - 1) & -alignment;
}
