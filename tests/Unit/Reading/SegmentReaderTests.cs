using System.Buffers.Binary;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reading;

public class SegmentReaderTests
{
    /// <summary>Ids 10, 20, ..., 1000 (sparse), sealed every 7 events: blocks of 7 and one of 2.</summary>
    private static string SparseSegment(TempDirectory dir)
    {
        var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        writer.Start(0, 0);
        for (int i = 1; i <= 100; i++)
        {
            writer.TryAppend(i * 10, i, 0, Wal.Payload(i * 10, 16));
            if (i % 7 == 0)
            {
                writer.Seal();
            }
        }

        writer.Close();
        return writer.Path;
    }

    [Theory]
    [InlineData(10L, 10L)]    // the first id
    [InlineData(1L, 10L)]     // below the first id
    [InlineData(1000L, 1000L)] // the last id
    [InlineData(70L, 70L)]    // last event of block 0
    [InlineData(80L, 80L)]    // first event of block 1
    [InlineData(71L, 80L)]    // in a gap at a block boundary
    [InlineData(555L, 560L)]  // in a gap inside a block
    public void Seek_lands_on_the_first_event_at_or_after_the_id(long target, long expected)
    {
        using var dir = new TempDirectory();
        using SegmentReader reader = SegmentReader.Open(SparseSegment(dir));
        Assert.True(reader.SeekTo(target));
        Assert.True(reader.TryReadNext(out WalEvent e));
        Assert.Equal(expected, e.EventId);
        Assert.Equal(Wal.Payload(expected, 16), e.Payload.ToArray());
        long count = 1;
        while (reader.TryReadNext(out _))
        {
            count++;
        }

        Assert.Equal((1000 - expected) / 10 + 1, count);
    }

    [Fact]
    public void Seek_beyond_the_last_id_finds_nothing()
    {
        using var dir = new TempDirectory();
        using SegmentReader reader = SegmentReader.Open(SparseSegment(dir));
        Assert.False(reader.SeekTo(1001));
        Assert.False(reader.TryReadNext(out _));
        reader.Rewind();
        Assert.True(reader.TryReadNext(out WalEvent first));
        Assert.Equal(10, first.EventId);
    }

    [Fact]
    public void Reads_the_valid_prefix_of_a_torn_segment()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 50, Wal.Small, sealEvery: 20);
        writer.AbandonMidWrite(); // 40 events sealed, 10 in an open block: what a killed process leaves

        using SegmentReader reader = SegmentReader.Open(writer.Path);
        Assert.Equal(SegmentState.TornTail, reader.Scan.State);
        Assert.Equal(40, reader.EventCount);
        Finding torn = Assert.Single(reader.Scan.Findings);
        Assert.Equal(FindingCode.TornTail, torn.Code);
        Assert.Equal(FindingSeverity.TornTail, torn.Severity);
        Assert.Equal(reader.Scan.ValidEnd, torn.Offset);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), Wal.ReadAll(writer.Path).Select(e => e.Id));
    }

    [Fact]
    public void Missing_file_and_directory_are_typed_errors()
    {
        using var dir = new TempDirectory();
        Assert.Throws<WalPathNotFoundException>(() => SegmentReader.Open(dir.File("none.wal")));
        var e = Assert.Throws<WalNotAFileException>(() => SegmentReader.Open(dir.Path));
        Assert.Contains("is a directory", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(5000)]
    public void Files_that_are_not_segments_are_refused(int length)
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.wal");
        byte[] bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<WalFormatException>(() => SegmentReader.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal("WalNotASegment", e.ErrorId);
    }

    [Fact]
    public void A_segment_cut_inside_its_header_is_corrupt_not_foreign()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        Wal.Write(dir.Path, 0, log, 0, 1, 3, Wal.Small).Close();
        string path = Wal.SegmentPath(dir.Path, 0);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..100]);
        var e = Assert.Throws<WalCorruptionException>(() => SegmentReader.Open(path));
        Assert.Equal(FindingCode.FileTooShort, e.Finding.Code);
    }

    [Fact]
    public void A_newer_format_version_is_refused_with_its_version()
    {
        using var dir = new TempDirectory();
        string path = NewerVersionSegment(dir);
        var e = Assert.Throws<WalVersionException>(() => SegmentReader.Open(path));
        Assert.Equal(2, e.Version);
        Assert.Contains("version 2", e.Message, StringComparison.Ordinal);

        VerificationReport report = SegmentVerifier.Verify(path);
        Finding finding = Assert.Single(report.Findings);
        Assert.Equal(FindingCode.UnsupportedVersion, finding.Code);
        Assert.Equal(FindingSeverity.Error, finding.Severity);
    }

    /// <summary>A v1 segment whose header claims version 2 with a valid CRC: what a future FlashWal would write.</summary>
    internal static string NewerVersionSegment(TempDirectory dir)
    {
        LogId log = LogId.NewId();
        Wal.Write(dir.Path, 0, log, 0, 1, 3, Wal.Small).Close();
        string path = Wal.SegmentPath(dir.Path, 0);
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(124), Crc32C.Compute(bytes.AsSpan(0, 124)));
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Replay_allocates_nothing_per_event()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        Wal.Write(dir.Path, 0, log, 0, 1, 2000, new SegmentOptions { SegmentSize = 1 << 20, BlockSize = 4096 }, length: _ => 64).Close();
        using SegmentReader reader = SegmentReader.Open(Wal.SegmentPath(dir.Path, 0));
        long sum = 0;
        while (reader.TryReadNext(out WalEvent e))
        {
            sum += e.EventId; // warm up
        }

        long allocated = AllocationCounter.Least(() =>
        {
            reader.Rewind();
            while (reader.TryReadNext(out WalEvent e))
            {
                sum += e.EventId + e.Payload[0];
            }

            reader.SeekTo(1000);
        });

        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }
}
