using FlashWal.Format;

namespace FlashWal.Tests.Format;

public class FormatTests
{
    [Theory]
    [InlineData(0L, "0000000000000000.wal")]
    [InlineData(42L, "000000000000002a.wal")]
    [InlineData(long.MaxValue, "7fffffffffffffff.wal")]
    public void Segment_names_are_16_hex_digits(long index, string name)
    {
        Assert.Equal(name, SegmentFileName.Format(index));
        Assert.True(SegmentFileName.TryParse(name, out long parsed));
        Assert.Equal(index, parsed);
    }

    [Theory]
    [InlineData("000000000000002A.wal")]
    [InlineData("00000000000002a.wal")]
    [InlineData("000000000000002a.wal.tmp")]
    [InlineData("000000000000002a.log")]
    [InlineData("ffffffffffffffff.wal")]
    [InlineData("notes.txt")]
    public void Other_names_are_not_segments(string name) => Assert.False(SegmentFileName.TryParse(name, out _));

    [Fact]
    public void Lexicographic_order_is_numeric_order()
    {
        long[] indices = [0, 1, 9, 10, 15, 16, 255, 256, 1L << 32, (1L << 40) + 3, long.MaxValue];
        var names = indices.Select(SegmentFileName.Format).ToList();
        Assert.Equal(names, names.OrderBy(n => n, StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void Header_round_trips_and_carries_its_crc_at_124()
    {
        var header = new SegmentHeader(1, LogId.NewId(), 7, 1 << 20, 65536, 4096, 123456789);
        byte[] bytes = new byte[128];
        header.WriteTo(bytes);
        Assert.Equal("FLASHWAL"u8.ToArray(), bytes[..8]);
        Assert.Equal(header, SegmentHeader.Read(bytes));
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(0, 124)), BitConverter.ToUInt32(bytes, 124));
    }

    [Fact]
    public void Block_header_chain_and_crc_cover_what_the_doc_says()
    {
        var header = new BlockHeader(128, 3, 2, 10, 11, 99, 0xDEADBEEF, 0x12345678, 0);
        byte[] bytes = new byte[64];
        uint chain = header.Encode(bytes);
        Assert.Equal(SegmentFormat.BlockMagic, BitConverter.ToUInt32(bytes, 0));
        Assert.Equal("FWBK"u8.ToArray(), bytes[..4]);
        Assert.Equal(Crc32C.Append(0xDEADBEEF, bytes.AsSpan(0, 48)), chain);
        Assert.Equal(chain, BitConverter.ToUInt32(bytes, 48));
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(0, 60)), BitConverter.ToUInt32(bytes, 60));
        Assert.Equal(header with { ChainCrc = chain }, BlockHeader.Read(bytes));
    }

    [Fact]
    public void Summary_round_trips()
    {
        var summary = new SegmentSummary(0, 8192, 3, 0xCAFEF00D, 40, 1, 40, 5);
        byte[] bytes = new byte[64];
        summary.WriteTo(bytes);
        Assert.Equal("FWSM"u8.ToArray(), bytes[..4]);
        Assert.Equal(summary, SegmentSummary.Read(bytes));
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(0, 60)), BitConverter.ToUInt32(bytes, 60));
    }

    [Fact]
    public void Log_ids_round_trip_and_differ()
    {
        LogId a = LogId.NewId();
        byte[] bytes = new byte[16];
        a.WriteTo(bytes);
        Assert.Equal(a, LogId.Read(bytes));
        Assert.Equal(Convert.ToHexString(bytes).ToLowerInvariant(), a.ToString());
        Assert.NotEqual(a, LogId.NewId());
    }

    [Theory]
    [InlineData(0, 24)]
    [InlineData(1, 32)]
    [InlineData(8, 32)]
    [InlineData(9, 40)]
    public void Records_are_8_byte_aligned(int payload, int size) => Assert.Equal(size, SegmentFormat.RecordSize(payload));

    [Fact]
    public void A_block_completed_from_a_data_crc_taken_part_way_has_the_same_bytes_as_one_completed_from_nothing()
    {
        var random = new Random(20261205);
        const int length = 4096 + SegmentFormat.BlockHeaderSize;
        byte[] reference = new byte[length];
        random.NextBytes(reference.AsSpan(SegmentFormat.BlockHeaderSize));
        BlockHeader.WriteFields(reference, length, 3, 17, 100, 116, 1_700_000_000_000_000_000);
        byte[] whole = (byte[])reference.Clone();
        uint chain = BlockHeader.Complete(whole, 0xC0FFEE, Crc32C.Begin(), 0);
        Assert.Equal(Crc32C.Compute(whole.AsSpan(SegmentFormat.BlockHeaderSize)), BlockHeader.Read(whole).DataCrc);

        // Every split point, the three-lane path's rounds included: only the rest is read, the bytes agree.
        foreach (int done in new[] { 1, 7, 8, 88, 3071, 3072, 3073, 4000, 4096 })
        {
            byte[] part = (byte[])reference.Clone();
            uint register = Crc32C.Update(Crc32C.Begin(), part.AsSpan(SegmentFormat.BlockHeaderSize, done));
            Assert.Equal(chain, BlockHeader.Complete(part, 0xC0FFEE, register, done));
            Assert.Equal(whole, part);
        }

        // A register that does not match the bytes gives another data CRC: the prefix is really used.
        byte[] wrong = (byte[])reference.Clone();
        BlockHeader.Complete(wrong, 0xC0FFEE, Crc32C.Begin(), 64);
        Assert.NotEqual(BlockHeader.Read(whole).DataCrc, BlockHeader.Read(wrong).DataCrc);
    }
}
