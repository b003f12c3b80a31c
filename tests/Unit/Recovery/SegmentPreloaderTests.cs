using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Tests.Support;
using static FlashWal.Tests.Recording.SegmentPreparerTests;

namespace FlashWal.Tests.Recovery;

/// <summary>The preloader on its own: order, failures in place, the ring bound, closing, stopping, cancellation.</summary>
public class SegmentPreloaderTests
{
    private static (TempDirectory Dir, IReadOnlyList<SegmentScan> Segments) SixSegments()
    {
        var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 6, perSegment: 100, Wal.Small, sealEvery: 10);
        return (dir, WalCatalog.Open(dir.Path).Segments);
    }

    [LinuxFact("counts the files and mappings the process holds in /proc/self")]
    public void Hands_over_every_segment_in_order_then_null_and_leaves_no_file_open()
    {
        (TempDirectory dir, IReadOnlyList<SegmentScan> segments) = SixSegments();
        using (dir)
        {
            var preloader = new SegmentPreloader(salvage: false);
            preloader.Start(segments);
            var firstIds = new List<long>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (preloader.Take(timeout.Token) is { } segment)
            {
                Assert.Null(segment.Failure);
                SegmentReader reader = segment.Reader!;
                Assert.Equal(SegmentState.Closed, reader.Scan.State); // verified before the hand-over
                firstIds.Add(reader.Scan.FirstEventId);
                preloader.Finish(reader);
            }

            Assert.False(timeout.IsCancellationRequested);
            Assert.Equal([1L, 101, 201, 301, 401, 501], firstIds);
            Assert.True(preloader.PreloadingIsDone);
            Assert.Null(preloader.Take()); // the end stays the end, at once
            preloader.Dispose();
            Assert.True(preloader.IsDone);
            Assert.Equal(6, preloader.Telemetry.Open.Snapshot().Count);
            Assert.Equal(6, preloader.Telemetry.Wait.Snapshot().Count);
            Assert.Equal(6, preloader.Telemetry.Close.Snapshot().Count); // on its thread, or when stopping
            Assert.Equal(0, OpenHandles(dir.Path));
            Assert.Equal(0, Mappings(dir.Path));
        }
    }

    [Fact]
    public void A_segment_that_cannot_be_opened_is_handed_over_in_its_place()
    {
        (TempDirectory dir, IReadOnlyList<SegmentScan> segments) = SixSegments();
        using (dir)
        {
            File.WriteAllBytes(segments[2].Path, new byte[100]); // no longer a segment
            using var preloader = new SegmentPreloader(salvage: true);
            preloader.Start(segments);
            var seen = new List<string>();
            while (preloader.Take() is { } segment)
            {
                seen.Add(segment.Failure is { } failure ? "failed:" + Path.GetFileName(failure.File) : "ok");
                if (segment.Reader is { } reader)
                {
                    preloader.Finish(reader);
                }
            }

            Assert.Equal(["ok", "ok", "failed:" + Path.GetFileName(segments[2].Path), "ok", "ok", "ok"], seen);
            Assert.Equal(1, preloader.Telemetry.Failures);
        }
    }

    [LinuxFact("counts the files and mappings the process holds in /proc/self")]
    public void Never_prepares_more_than_its_read_buffers_hold_and_keeps_no_file_open_or_mapped()
    {
        (TempDirectory dir, IReadOnlyList<SegmentScan> segments) = SixSegments();
        using (dir)
        {
            var preloader = new SegmentPreloader(salvage: false);
            preloader.Start(segments);
            Eventually(() => preloader.Telemetry.Open.Snapshot().Count == SegmentPreloader.ReadBuffers);
            Thread.Sleep(50); // room to overrun, if it would
            Assert.Equal(SegmentPreloader.ReadBuffers, preloader.Telemetry.Open.Snapshot().Count);
            Assert.False(preloader.PreloadingIsDone);

            // Each prepared segment was read whole into a buffer: its file is closed and nothing is mapped.
            Assert.Equal(0, OpenHandles(dir.Path));
            Assert.Equal(0, Mappings(dir.Path));
            Assert.Equal(0, preloader.Telemetry.MappedSegments);

            preloader.Stop();
            Assert.True(preloader.IsDone);
            Assert.Null(preloader.Take()); // stopped: nothing more, no wait
            preloader.Dispose();
        }
    }

    [Fact]
    public void Finished_readers_are_closed_on_the_preloader_thread()
    {
        (TempDirectory dir, IReadOnlyList<SegmentScan> segments) = SixSegments();
        using (dir)
        {
            using var preloader = new SegmentPreloader(salvage: false);
            preloader.Start(segments);
            preloader.Finish(preloader.Take()!.Reader!);
            preloader.Finish(preloader.Take()!.Reader!);
            Eventually(() => preloader.Telemetry.Close.Snapshot().Count == 2);
            Assert.Equal(0, preloader.Telemetry.SynchronousCloses);
        }
    }

    [Fact]
    public async Task A_blocked_take_ends_on_cancellation()
    {
        // Never started: nothing will ever be handed over, so only cancellation can end the wait.
        using var preloader = new SegmentPreloader(salvage: false);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        PreloadedSegment? taken = await Task.Run(() => preloader.Take(cancel.Token)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(taken);
        Assert.True(cancel.IsCancellationRequested);
    }
}
