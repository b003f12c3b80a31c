using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Inspection;

/// <summary>Damage anywhere in a sealed segment is found, and placed; truncation anywhere yields exactly the valid prefix.</summary>
public class CorruptionTests
{
    /// <summary>An 8 KiB closed segment: the header page, then several blocks of varied records and zeros to the end.</summary>
    private static (byte[] Bytes, SegmentScan Intact, string Path) SmallClosedSegment(TempDirectory dir)
    {
        LogId log = LogId.NewId();
        using (SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 40, Wal.Tiny, sealEvery: 9, length: id => (int)(id * 13 % 61)))
        {
            writer.Close();
        }

        string path = Wal.SegmentPath(dir.Path, 0);
        byte[] bytes = File.ReadAllBytes(path);
        SegmentScan intact = Scan(path, bytes);
        Assert.Empty(intact.Findings);
        Assert.Equal(SegmentState.Closed, intact.State);
        Assert.Equal(5, intact.BlockOffsets.Count);
        Assert.True(intact.ValidEnd < bytes.Length - 1024, "the segment must leave zeros after its data for this test");
        return (bytes, intact, path);
    }

    private static unsafe SegmentScan Scan(string path, byte[] bytes, int length = -1)
    {
        fixed (byte* p = bytes)
        {
            return SegmentScanner.Scan(path, p, length < 0 ? bytes.Length : length);
        }
    }

    [Fact]
    public void Every_single_bit_flip_is_detected_and_placed()
    {
        using var dir = new TempDirectory();
        (byte[] bytes, SegmentScan intact, string path) = SmallClosedSegment(dir);
        var blocks = intact.BlockOffsets.ToList();
        for (int offset = 0; offset < bytes.Length; offset++)
        {
            byte mask = (byte)(1 << (offset % 8));
            bytes[offset] ^= mask;
            SegmentScan scan = Scan(path, bytes);
            bytes[offset] ^= mask;

            Finding? damage = scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage);
            Assert.True(damage is not null, $"a flip at offset {offset} went undetected");
            Assert.Equal(path, damage.File);
            string where = $"flip at {offset}: {damage}";
            if (offset < SegmentFormat.HeaderSize)
            {
                Assert.True(damage.Code is FindingCode.NotASegment or FindingCode.HeaderChecksumMismatch, where);
            }
            else if (offset < SegmentFormat.SummaryOffset || (offset >= SegmentFormat.SummaryOffset + SegmentFormat.SummarySize && offset < SegmentFormat.DataOffset))
            {
                Assert.Equal(FindingCode.ReservedBytesNotZero, damage.Code);
                Assert.Equal(offset, damage.Offset);
            }
            else if (offset < SegmentFormat.DataOffset)
            {
                Assert.Equal(FindingCode.SummaryCorrupt, damage.Code);
            }
            else if (offset < intact.ValidEnd)
            {
                int block = blocks.FindLastIndex(b => b <= offset);
                Assert.True(damage.BlockIndex == block, where);
                long blockEnd = block + 1 < blocks.Count ? blocks[block + 1] : intact.ValidEnd;
                Assert.True(damage.Offset >= blocks[block] && damage.Offset < blockEnd, where);
            }
            else
            {
                Assert.Equal(FindingCode.DataAfterEnd, damage.Code);
                Assert.Equal(offset, damage.Offset);
            }
        }
    }

    [Fact]
    public void Truncation_at_every_offset_yields_exactly_the_valid_prefix_and_a_finding()
    {
        using var dir = new TempDirectory();
        (byte[] bytes, SegmentScan intact, string path) = SmallClosedSegment(dir);
        var ends = new List<(long End, long Events)>();
        long events = 0;
        for (int b = 0; b < intact.BlockOffsets.Count; b++)
        {
            long end = b + 1 < intact.BlockOffsets.Count ? intact.BlockOffsets[b + 1] : intact.ValidEnd;
            events += BitConverter.ToInt32(bytes, (int)intact.BlockOffsets[b] + 12);
            ends.Add((end, events));
        }

        for (int length = 0; length < bytes.Length; length++)
        {
            SegmentScan scan = Scan(path, bytes, length);
            Assert.True(scan.HasDamage, $"truncation at {length} went undetected");
            if (length >= SegmentFormat.HeaderSize)
            {
                long expected = ends.Where(e => e.End <= length).Select(e => e.Events).DefaultIfEmpty(0).Max();
                Assert.True(expected == scan.RecordCount, $"truncation at {length}: expected {expected} readable events, found {scan.RecordCount}");
                Assert.Contains(scan.Findings, f => f.Code == FindingCode.FileTruncated);
            }
            else
            {
                Assert.Null(scan.Header);
                Assert.Contains(scan.Findings, f => f.Code is FindingCode.FileEmpty or FindingCode.FileTooShort);
            }
        }
    }

    [Fact]
    public void Random_bytes_and_appended_garbage_are_reported_not_thrown()
    {
        using var dir = new TempDirectory();
        (byte[] bytes, _, string path) = SmallClosedSegment(dir);
        var random = new Random(1234);
        for (int i = 0; i < 200; i++)
        {
            byte[] junk = new byte[random.Next(0, 9000)];
            random.NextBytes(junk);
            if (i % 2 == 0 && junk.Length >= 8)
            {
                "FLASHWAL"u8.CopyTo(junk); // past the magic, into the header checks
            }

            Assert.True(Scan(path, junk).HasDamage);
        }

        byte[] longer = [.. bytes, 1, 2, 3];
        SegmentScan scan = Scan(path, longer);
        Assert.Contains(scan.Findings, f => f.Code == FindingCode.FileTooLong && f.Offset == bytes.Length);
    }

    [Fact]
    public void A_zeroed_last_block_of_a_closed_segment_is_damage()
    {
        using var dir = new TempDirectory();
        (byte[] bytes, SegmentScan intact, string path) = SmallClosedSegment(dir);
        long last = intact.BlockOffsets[^1];
        Array.Clear(bytes, (int)last, (int)(intact.ValidEnd - last));
        SegmentScan scan = Scan(path, bytes);
        Finding damage = Assert.Single(scan.Findings);
        Assert.Equal(FindingCode.SummaryMismatch, damage.Code);
        Assert.Equal(intact.BlockOffsets.Count - 1, scan.BlockOffsets.Count);
    }

    [Fact]
    public void In_an_open_segment_a_valid_block_after_damage_means_lost_blocks_not_a_torn_tail()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 40, Wal.Small, sealEvery: 10);
        writer.Abandon();
        string path = writer.Path;
        byte[] bytes = File.ReadAllBytes(path);
        SegmentScan intact = Scan(path, bytes);
        Assert.Equal(SegmentState.Open, intact.State);
        long second = intact.BlockOffsets[1];
        Array.Clear(bytes, (int)second, 64); // wipe block 1's header: blocks 2 and 3 still follow

        SegmentScan scan = Scan(path, bytes);
        Finding lost = Assert.Single(scan.Findings, f => f.Code == FindingCode.BlocksLost);
        Assert.Equal(FindingSeverity.Damage, lost.Severity);
        Assert.Equal(second, lost.Offset);
        Assert.Equal(SegmentState.Damaged, scan.State);
        Assert.Equal(10, scan.RecordCount);
    }

    [Fact]
    public void In_an_open_segment_a_valid_header_over_bad_content_is_damage_even_at_the_end()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 30, Wal.Small, sealEvery: 10);
        writer.Abandon();
        byte[] bytes = File.ReadAllBytes(writer.Path);
        long last = Scan(writer.Path, bytes).BlockOffsets[^1];
        bytes[last + 100] ^= 0x20; // inside the last sealed block's records
        SegmentScan scan = Scan(writer.Path, bytes);
        Assert.Equal(FindingCode.BlockChecksumMismatch, Assert.Single(scan.Findings).Code);
        Assert.Equal(SegmentState.Damaged, scan.State);
    }

    [Fact]
    public void A_seal_interrupted_by_a_crash_is_a_torn_tail_and_recovery_closes_it()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 25, Wal.Small, sealEvery: 10);
        long openBlock = writer.SealedEnd;
        writer.Seal();
        writer.Abandon();
        // Undo the last release store: bytes 8..63 of the header are written, magic and length are not.
        using (var stream = new FileStream(writer.Path, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(stream.SafeFileHandle, new byte[8], openBlock);
        }

        SegmentScan scan = SegmentScanner.ScanFile(writer.Path);
        Assert.Equal(SegmentState.TornTail, scan.State);
        Assert.Equal(20, scan.RecordCount);
        Assert.Equal(openBlock, Assert.Single(scan.Findings).Offset);

        SegmentSummary? summary = AbandonedSegment.Close(writer.Path);
        Assert.NotNull(summary);
        Assert.True(summary.Value.IsRecoveredClose);
        SegmentScan closed = SegmentScanner.ScanFile(writer.Path);
        Assert.Equal(SegmentState.Closed, closed.State);
        Assert.False(closed.HasDamage, string.Join('\n', closed.Findings));
        Assert.Equal(20, closed.RecordCount);
        Assert.Null(AbandonedSegment.Close(writer.Path)); // closing twice changes nothing
    }
}
