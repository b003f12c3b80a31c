using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Storage;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reading;

public sealed unsafe class ReadBufferPoolTests
{
    [Fact]
    public void At_most_capacity_buffers_are_out_and_a_released_one_is_reused_grown_when_needed()
    {
        using var pool = new ReadBufferPool(2);
        Assert.True(pool.TryRent(10_000, out var first));
        Assert.True(pool.TryRent(4096, out var second));
        Assert.False(pool.HasFree);
        Assert.False(pool.TryRent(1, out var none));
        Assert.Null(none);
        Assert.Equal(2 << 20, first!.Capacity); // whole huge pages
        Assert.Equal(0, (long)first.Pointer % (2 << 20));

        byte* memory = first.Pointer;
        first.Release();
        Assert.True(pool.HasFree);
        Assert.True(pool.TryRent(8192, out var again));
        Assert.Same(first, again);
        Assert.True(again!.Pointer == memory, "a buffer long enough is reused as it is");

        second!.Release();
        Assert.True(pool.TryRent((2 << 20) + 1, out var grown));
        Assert.Same(second, grown);
        Assert.Equal(4 << 20, grown!.Capacity);
        grown.Release();
        again.Release();
    }

    [Fact]
    public void A_buffer_out_when_the_pool_is_disposed_is_freed_at_its_release_and_the_pool_rents_no_more()
    {
        var pool = new ReadBufferPool(1);
        Assert.True(pool.TryRent(4096, out var buffer));
        buffer!.Pointer[4095] = 7; // still usable: the pool frees only what is given back
        pool.Dispose();
        Assert.Equal(7, buffer.Pointer[4095]);
        buffer.Release();
        Assert.True(buffer.Pointer == null);
        Assert.False(pool.TryRent(1, out _));
    }

    [Fact]
    public void A_reader_over_a_buffer_reads_what_a_mapped_reader_reads_and_gives_the_buffer_back_when_disposed()
    {
        using var dir = new TempDirectory();
        Wal.Write(dir.Path, 0, LogId.NewId(), 0, 1, 3000, new SegmentOptions { SegmentSize = 1 << 20, BlockSize = 4096 }, length: id => (int)(id % 200)).Close();
        string path = Wal.SegmentPath(dir.Path, 0);
        using var pool = new ReadBufferPool(1);

        var mapped = Events(SegmentReader.Open(path));
        using (SegmentReader reader = SegmentReader.Open(path, salvage: false, pool))
        {
            Assert.False(pool.HasFree); // the file was read into the pool's only buffer
            Assert.Equal(mapped, Events(reader, dispose: false));
        }

        Assert.True(pool.HasFree);
        Assert.Equal(3000, mapped.Count);
    }

    [Fact]
    public void A_file_that_is_not_a_segment_gives_its_buffer_back()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "0000000000000000.wal");
        File.WriteAllBytes(path, new byte[8192]);
        using var pool = new ReadBufferPool(1);
        Assert.ThrowsAny<Exception>(() => SegmentReader.Open(path, salvage: false, pool));
        Assert.True(pool.HasFree);
    }

    [Fact]
    public void The_preloader_reads_a_log_of_many_segments_through_its_few_buffers_in_order()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 12, perSegment: 500, new SegmentOptions { SegmentSize = 1 << 20, BlockSize = 4096 });
        var scans = Directory.GetFiles(dir.Path, "*.wal").Order(StringComparer.Ordinal).Select(SegmentScanner.ScanFile).ToList();
        using var preloader = new SegmentPreloader(salvage: false);
        preloader.Start(scans);
        long expected = 1;
        int segments = 0;
        while (preloader.Take() is { } segment)
        {
            Assert.Null(segment.Failure);
            SegmentReader reader = segment.Reader!;
            while (reader.TryReadNext(out WalEvent e))
            {
                Assert.Equal(expected++, e.EventId);
            }

            preloader.Finish(reader);
            segments++;
        }

        Assert.Equal(12, segments);
        Assert.Equal(6001, expected);

        // The first ReadBuffers segments are loaded before the replay holds any buffer; a segment is
        // mapped only when the replay holds every buffer and has nothing prepared.
        Assert.InRange(preloader.Telemetry.MappedSegments, 0, 12 - SegmentPreloader.ReadBuffers);
    }

    [Fact]
    public void The_preloader_maps_a_segment_that_was_open_when_listed_so_a_live_recorder_s_later_blocks_are_seen()
    {
        using var dir = new TempDirectory();
        var options = new SegmentOptions { SegmentSize = 1 << 20, BlockSize = 4096 };
        LogId log = LogId.NewId();
        SegmentWriter closed = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 300, options, sealEvery: 50);
        closed.Close();
        using SegmentWriter open = Wal.Write(dir.Path, 1, log, closed.ChainValue, 301, 300, options, sealEvery: 50); // sealed blocks in the file, no summary
        var scans = Directory.GetFiles(dir.Path, "*.wal").Order(StringComparer.Ordinal).Select(SegmentScanner.ScanFile).ToList();
        Assert.NotNull(scans[0].Summary);
        Assert.Null(scans[1].Summary);

        using var preloader = new SegmentPreloader(salvage: false);
        preloader.Start(scans);
        PreloadedSegment first = preloader.Take()!;
        PreloadedSegment second = preloader.Take()!;
        Assert.False(first.Reader!.IsMapped);
        Assert.True(second.Reader!.IsMapped);
        Assert.Equal(1, preloader.Telemetry.MappedSegments);
        preloader.Finish(first.Reader);
        preloader.Finish(second.Reader);
    }

    private static List<(long Id, string Payload)> Events(SegmentReader reader, bool dispose = true)
    {
        var events = new List<(long, string)>();
        while (reader.TryReadNext(out WalEvent e))
        {
            events.Add((e.EventId, Convert.ToHexString(e.Payload)));
        }

        if (dispose)
        {
            reader.Dispose();
        }

        return events;
    }
}
