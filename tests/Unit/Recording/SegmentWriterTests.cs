using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

public class SegmentWriterTests
{
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    private struct Order
    {
        public long Price;
        public int Quantity;
        public byte Side;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(1001)]
    [InlineData(4096 - 64 - 24)] // the largest payload of a 4 KiB block
    public void Round_trips_payloads_of_every_size(int size)
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        using (SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 5, Wal.Small, length: _ => size))
        {
            Assert.Equal(4096 - 64 - 24, writer.MaxPayloadSize);
        }

        var events = Wal.ReadAll(Wal.SegmentPath(dir.Path, 0));
        Assert.Equal([1L, 2, 3, 4, 5], events.Select(e => e.Id));
        foreach (var e in events)
        {
            Assert.Equal(Wal.Payload(e.Id, size), e.Payload);
            Assert.Equal(1_700_000_000_000_000_000 + e.Id, e.Timestamp);
            Assert.Equal((ushort)(e.Id % 7), e.Type);
        }

        Assert.True(SegmentVerifier.Verify(dir.Path).IsIntact);
    }

    [Fact]
    public void Appends_unmanaged_structs_as_their_bytes()
    {
        using var dir = new TempDirectory();
        using (var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small))
        {
            writer.Start(0, 0);
            var order = new Order { Price = 101_25, Quantity = 7, Side = 1 };
            Assert.True(writer.TryAppend(1, 5, 3, in order));
        }

        using SegmentReader reader = SegmentReader.Open(Wal.SegmentPath(dir.Path, 0));
        Assert.True(reader.TryReadNext(out WalEvent e));
        Assert.Equal(13, e.Payload.Length);
        Order read = MemoryMarshal.Read<Order>(e.Payload);
        Assert.Equal(101_25, read.Price);
        Assert.Equal(7, read.Quantity);
        Assert.Equal(1, read.Side);
    }

    [Fact]
    public void Header_is_complete_before_the_first_append_and_the_file_is_preallocated()
    {
        using var dir = new TempDirectory();
        using var writer = SegmentWriter.Create(dir.Path, 5, LogId.NewId(), Wal.Small);
        Assert.Equal(Wal.Small.SegmentSize, new FileInfo(writer.Path).Length);
        SegmentScan scan = SegmentScanner.ScanFile(writer.Path);
        Assert.Equal(SegmentState.Empty, scan.State);
        Assert.Empty(scan.Findings);
        Assert.Equal(5, scan.Header!.Value.SegmentIndex);
        Assert.False(File.Exists(writer.Path + ".tmp"));
        writer.Discard();
    }

    [Fact]
    public void Sealed_blocks_are_visible_before_close_and_open_ones_are_not()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 10, Wal.Small);
        writer.Seal();
        Assert.Equal(10, writer.CommittedEventId);
        Assert.True(writer.TryAppend(11, 0, 0, Wal.Payload(11, 30)));
        Assert.Equal(10, writer.CommittedEventId);
        Assert.Equal(11, writer.LastEventId);

        SegmentScan scan = SegmentScanner.ScanFile(writer.Path);
        Assert.Equal(10, scan.LastEventId);
        Assert.Equal(SegmentState.Open, scan.State); // the open block's record is in the writer's buffer, not in the file

        writer.Close();
        Assert.Equal(11, SegmentScanner.ScanFile(writer.Path).LastEventId);
    }

    [LinuxFact("counts open files and mappings in /proc/self")]
    public void A_segment_is_never_mapped_and_close_writes_the_summary_and_releases_the_file()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        var writer = SegmentWriter.Create(dir.Path, 0, log, Wal.Small);
        writer.Start(SegmentFormat.GenesisChainSeed(log), 0);
        for (long id = 1; id <= 1000; id++)
        {
            Assert.True(writer.TryAppend(id, id, 0, BitConverter.GetBytes(id)));
        }

        Assert.Equal(0, SegmentPreparerTests.Mappings(dir.Path)); // blocks reach the file through positioned writes
        SegmentSummary summary = writer.Close(); // seals the open block, writes it, syncs, writes the summary, syncs

        Assert.Equal(0, SegmentPreparerTests.Mappings(dir.Path));
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path));
        Assert.Equal(writer.SealedEnd, writer.FlushedEnd);
        Assert.Equal(summary, SegmentFile.ReadSummary(writer.Path));
        Assert.Equal((1L, 1000L, 1000L), (summary.FirstEventId, summary.LastEventId, summary.RecordCount));
        using var reader = SegmentReader.Open(writer.Path);
        long expected = 0;
        while (reader.TryReadNext(out WalEvent e))
        {
            Assert.Equal(++expected, BitConverter.ToInt64(e.Payload));
        }

        Assert.Equal(1000, expected);
    }

    [Fact]
    public void Full_segment_refuses_the_append_after_sealing_what_it_holds()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        using var writer = SegmentWriter.Create(dir.Path, 0, log, Wal.Tiny);
        writer.Start(SegmentFormat.GenesisChainSeed(log), 0);
        long id = 0;
        while (writer.TryAppend(++id, 0, 0, new byte[100]))
        {
        }

        Assert.False(writer.HasOpenBlock);
        Assert.Equal(id - 1, writer.CommittedEventId);
        Assert.True(writer.SealedEnd <= Wal.Tiny.SegmentSize);
        writer.Close();
        VerificationReport report = SegmentVerifier.Verify(writer.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(id - 1, report.Events);
    }

    [Fact]
    public void Rejects_an_event_larger_than_a_block_and_keeps_what_was_written()
    {
        using var dir = new TempDirectory();
        var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        writer.Start(0, 0);
        Assert.True(writer.TryAppend(1, 0, 0, new byte[10]));
        var e = Assert.Throws<WalEventTooLargeException>(() => writer.TryAppend(2, 0, 0, new byte[4096]));
        Assert.Equal(4096, e.PayloadLength);
        Assert.Equal(4008, e.MaxPayloadLength);
        Assert.Contains(writer.Path, e.Message, StringComparison.Ordinal);
        Assert.Equal("WalEventTooLarge", e.ErrorId);
        Assert.True(writer.TryAppend(2, 0, 0, new byte[4008]));
        writer.Close();
        Assert.Equal(2, Wal.ReadAll(writer.Path).Count);
    }

    [Theory]
    [InlineData(5L)]
    [InlineData(4L)]
    [InlineData(0L)]
    [InlineData(-3L)]
    public void Rejects_event_ids_that_do_not_increase(long bad)
    {
        using var dir = new TempDirectory();
        var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        writer.Start(0, 0);
        Assert.True(writer.TryAppend(5, 0, 0, [1]));
        var e = Assert.Throws<WalEventIdException>(() => writer.TryAppend(bad, 0, 0, [2]));
        Assert.Equal(5, e.PreviousEventId);
        Assert.Contains("does not increase", e.Message, StringComparison.Ordinal);
        writer.Close();
        Assert.Single(Wal.ReadAll(writer.Path));
    }

    [Fact]
    public void First_id_must_follow_the_previous_segment()
    {
        using var dir = new TempDirectory();
        using var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        writer.Start(0, previousEventId: 100);
        var e = Assert.Throws<WalEventIdException>(() => writer.TryAppend(100, 0, 0, [1]));
        Assert.Equal(100, e.PreviousEventId);
        Assert.True(writer.TryAppend(101, 0, 0, [1]));
    }

    [Fact]
    public void Append_before_start_or_after_close_fails_clearly()
    {
        using var dir = new TempDirectory();
        var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        Assert.Throws<InvalidOperationException>(() => writer.TryAppend(1, 0, 0, [1]));
        writer.Start(0, 0);
        Assert.Throws<InvalidOperationException>(() => writer.Start(0, 0));
        writer.Close();
        Assert.Throws<ObjectDisposedException>(() => writer.TryAppend(1, 0, 0, [1]));
        Assert.Throws<ObjectDisposedException>(() => writer.Close());
        writer.Dispose(); // a second dispose is harmless
    }

    [Fact]
    public void Never_overwrites_an_existing_segment()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        Wal.Write(dir.Path, 0, log, 0, 1, 3, Wal.Small).Close();
        byte[] before = File.ReadAllBytes(Wal.SegmentPath(dir.Path, 0));
        var e = Assert.Throws<IOException>(() => SegmentWriter.Create(dir.Path, 0, log, Wal.Small));
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Wal.SegmentPath(dir.Path, 0)));
    }

    [Fact]
    public void Replaces_a_temporary_file_a_crash_left_behind()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Wal.SegmentPath(dir.Path, 0) + ".tmp", "half a header");
        using var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        Assert.False(File.Exists(writer.Path + ".tmp"));
        writer.Discard();
    }

    [Fact]
    public void Missing_directory_is_a_typed_error()
    {
        var e = Assert.Throws<WalPathNotFoundException>(() => SegmentWriter.Create("/nonexistent/flashwal", 0, LogId.NewId(), Wal.Small));
        Assert.Equal("/nonexistent/flashwal", e.Path);
    }

    [Theory]
    [InlineData(4096, 4096L, "SegmentSize")]     // no room for a block after the header page
    [InlineData(4096, 12288L + 1, "SegmentSize")] // not a multiple of 4 KiB
    [InlineData(3000, 65536L, "BlockSize")]      // not a power of two
    [InlineData(2048, 65536L, "BlockSize")]      // too small
    [InlineData(1 << 25, 1L << 26, "BlockSize")] // too large
    public void Options_out_of_range_name_the_option(int block, long segment, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SegmentOptions { BlockSize = block, SegmentSize = segment }.Validate());
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Discard_deletes_an_unused_segment_but_never_one_with_events()
    {
        using var dir = new TempDirectory();
        var unused = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), Wal.Small);
        unused.Dispose(); // never started: discarded
        Assert.False(File.Exists(unused.Path));

        var used = SegmentWriter.Create(dir.Path, 1, LogId.NewId(), Wal.Small);
        used.Start(0, 0);
        used.TryAppend(1, 0, 0, [1]);
        Assert.Throws<InvalidOperationException>(() => used.Discard());
        used.Close();
        Assert.True(File.Exists(used.Path));
    }

    [Fact]
    public void Flush_advances_over_sealed_blocks_only()
    {
        using var dir = new TempDirectory();
        using SegmentWriter writer = Wal.Write(dir.Path, 0, LogId.NewId(), 0, 1, 10, Wal.Small);
        writer.Flush();
        Assert.Equal(SegmentFormat.DataOffset, writer.FlushedEnd);
        writer.Seal();
        writer.Flush();
        Assert.Equal(writer.SealedEnd, writer.FlushedEnd);
    }

    [Fact]
    public void Append_allocates_nothing()
    {
        using var dir = new TempDirectory();
        using var writer = SegmentWriter.Create(dir.Path, 0, LogId.NewId(), new SegmentOptions { SegmentSize = 64L << 20 });
        writer.Start(0, 0);
        byte[] payload = new byte[64];
        var order = new Order { Price = 1 };
        for (long id = 1; id <= 1000; id++)
        {
            writer.TryAppend(id, id, 1, payload); // warm up: JIT, tiering
        }

        long next = 1001;
        long allocated = AllocationCounter.Least(() =>
        {
            for (long last = next + 66_000; next < last; next++)
            {
                long id = next;
                if (!writer.TryAppend(id, id, 1, payload) || !writer.TryAppend(++next, next, 2, in order))
                {
                    Assert.Fail("segment full");
                }

                if (next % 1000 == 0)
                {
                    writer.Seal();
                }
            }
        });

        Assert.Equal(0, allocated);
    }
}
