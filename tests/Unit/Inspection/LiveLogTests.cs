using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Inspection;

/// <summary>
/// <see cref="LiveLog"/>'s rules for a log a recorder writes while it is read, fed with scans taken at
/// two moments, so that what the stress set could only reach by a race is reproduced step by step
/// (docs/results/stress.md numbers the defects each rule fixed).
/// </summary>
public sealed class LiveLogTests
{
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None };

    [Fact]
    public void A_segment_read_while_open_is_read_again_once_the_next_one_shows_it_grew()
    {
        // Stress defect 2: segment 0 scanned with 50 events, then the recorder fills it and begins
        // segment 1. Segment 1's chain does not continue the early scan of 0: read 0 again first.
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Small);
        var payload = new byte[100];
        for (int i = 0; i < 50; i++)
        {
            recorder.Append(payload);
        }

        recorder.Commit();
        string first = Path.Combine(dir.Path, SegmentFileName.Format(0));
        SegmentScan early = SegmentScanner.ScanFile(first);
        Assert.Equal(50, early.RecordCount);
        while (recorder.ActiveSegmentIndex == 0)
        {
            recorder.Append(payload);
        }

        recorder.Commit();
        SegmentScan late = SegmentScanner.ScanFile(SegmentLocator.Find(dir.Path, 0)!);
        SegmentScan next = SegmentScanner.ScanFile(SegmentLocator.Find(dir.Path, 1)!);
        Assert.True(next.RecordCount > 0);

        Assert.True(LiveLog.MayStillGrow(early));
        Assert.True(LiveLog.MustReadAgain(early, next));
        Assert.False(LiveLog.MustReadAgain(late, next)); // the whole of segment 0: segment 1 continues it
        Assert.False(LiveLog.MustReadAgain(null, next));
        Assert.True(LiveLog.Grew(early, late, previous: null));
        Assert.False(LiveLog.Grew(late, early, previous: null)); // fewer events: the earlier reading stands
        Assert.False(LiveLog.Grew(early, next, previous: null)); // another segment's blocks: not the same segment grown
    }

    [Fact]
    public void A_segment_found_empty_may_hold_events_by_now_and_an_index_gap_before_it_is_no_loss_yet()
    {
        // Stress defects 5 and 6: a segment created but not yet written (here the one the preparer has
        // ready) is empty when listed; a file of zeros that never got its header is not such a segment.
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Small);
        recorder.Append([1]);
        recorder.Commit();
        string? prepared = null;
        for (int i = 0; i < 1_000 && prepared is null; i++)
        {
            prepared = SegmentLocator.Find(dir.Path, 1); // the preparer creates it in the background
            Thread.Sleep(prepared is null ? 5 : 0);
        }

        Assert.NotNull(prepared);
        SegmentScan empty = SegmentScanner.ScanFile(prepared);
        SegmentScan written = SegmentScanner.ScanFile(SegmentLocator.Find(dir.Path, 0)!);
        string zeros = Path.Combine(dir.Path, "zeros.bin");
        File.WriteAllBytes(zeros, new byte[SegmentFormat.DataOffset]);
        SegmentScan neverWritten = SegmentScanner.ScanFile(zeros);

        Assert.True(LiveLog.MayHaveFilledSince(empty));
        Assert.False(LiveLog.MayHaveFilledSince(written));
        Assert.False(LiveLog.MayHaveFilledSince(neverWritten));
        Assert.True(LiveLog.GapBeforeIsNoLossYet(empty));
        Assert.False(LiveLog.GapBeforeIsNoLossYet(written));
        Assert.True(LiveLog.VanishedEmpty(empty)); // gone since: a prepared segment a closing recorder discarded
        Assert.False(LiveLog.VanishedEmpty(written)); // gone since with events: retention, or a loss

        // Stress defect 3: who took a segment listed earlier. Empty: the closing recorder, whenever met;
        // with events, before the reader met anything: retention (the log starts later); after: a loss.
        Assert.Equal(VanishedCause.DiscardedByRecorder, LiveLog.WhyVanished(empty, nothingMetYet: false));
        Assert.Equal(VanishedCause.DiscardedByRecorder, LiveLog.WhyVanished(empty, nothingMetYet: true));
        Assert.Equal(VanishedCause.DeletedByRetention, LiveLog.WhyVanished(written, nothingMetYet: true));
        Assert.Equal(VanishedCause.Lost, LiveLog.WhyVanished(written, nothingMetYet: false));
    }

    [Fact]
    public void The_segments_between_two_indices_are_the_ones_met_empty_and_those_found_now_or_none_when_one_is_missing()
    {
        // Stress defects 6 and 9, from two listings: at the first, 0x4 was there and empty; at the
        // second, 0x5 and 0x6 exist too (the recorder created them since). With 0x5 nowhere, it is missing.
        var metEmpty = new List<SegmentScan> { new("/log/0000000000000004.wal", 0) { SegmentIndex = 4, State = SegmentState.Empty } };
        var now = new Dictionary<long, string> { [5] = "/log/0000000000000005.wal", [6] = "/log/0000000000000006.walz" };

        List<SegmentScan>? between = LiveLog.Between(3, 7, metEmpty, i => now.GetValueOrDefault(i));
        Assert.NotNull(between);
        Assert.Equal([4L, 5L, 6L], between.Select(s => s.SegmentIndex));
        Assert.Same(metEmpty[0], between[0]);
        Assert.Equal(now[6], between[2].Path);
        Assert.All(between, s => Assert.Equal(SegmentState.Empty, s.State));

        now.Remove(5);
        Assert.Null(LiveLog.Between(3, 7, metEmpty, i => now.GetValueOrDefault(i)));
        Assert.Empty(LiveLog.Between(3, 4, metEmpty, _ => null)!); // adjacent: nothing between
    }
}
