using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary>The writer's event clock stays with the wall clock, and a caller's own timestamps are kept as given.</summary>
public sealed class EventClockTests
{
    [Fact]
    public void Event_timestamps_stay_within_a_millisecond_of_the_wall_clock_across_re_anchors()
    {
        using var dir = new TempDirectory();
        var bounds = new List<(long Before, long After)>();
        using (var recorder = WalRecorder.Open(dir.Path))
        {
            for (int i = 0; i < 30; i++)
            {
                long before = WalClock.UnixNs();
                recorder.Append([(byte)i]);
                long after = WalClock.UnixNs();
                bounds.Add((before, after));
                Thread.Sleep(10); // 300 ms: re-anchored about three times meanwhile
            }

            Assert.True(recorder.GetTelemetry().ClockAnchors >= 2, "the maintainer never re-anchored the event clock");
            Assert.InRange(recorder.GetTelemetry().ClockMaxDriftNs, 0, 1_000_000);
        }

        var events = Wal.ReadAll(Wal.SegmentPath(dir.Path, 0));
        Assert.Equal(30, events.Count);
        for (int i = 0; i < events.Count; i++)
        {
            // DateTime has 100 ns steps; the clocks are read on this thread, before and after the append.
            Assert.InRange(events[i].Timestamp, bounds[i].Before - 1_000_000, bounds[i].After + 1_000_000);
        }
    }

    [Fact]
    public void AppendAt_keeps_the_callers_timestamp_and_reads_no_clock()
    {
        using var dir = new TempDirectory();
        long exchangeTime = 1_700_000_000_123_456_789;
        using (var recorder = WalRecorder.Open(dir.Path))
        {
            Assert.Equal(1, recorder.AppendAt(exchangeTime, [1, 2, 3], type: 9));
            Assert.Equal(2, recorder.AppendAt(exchangeTime - 5, [4])); // a caller's clock may go back: kept as given
        }

        var events = Wal.ReadAll(Wal.SegmentPath(dir.Path, 0));
        Assert.Equal([(1L, exchangeTime, (ushort)9), (2L, exchangeTime - 5, (ushort)0)], events.Select(e => (e.Id, e.Timestamp, e.Type)));
    }
}
