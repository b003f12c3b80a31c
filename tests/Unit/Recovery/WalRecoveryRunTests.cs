using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Tests.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recovery;

/// <summary>
/// <see cref="WalRecovery.Run"/> (what Invoke-WalRecovery and flashwal recover replay with: a handler
/// or none, progress, cancellation, strict mode's stop in the report), <see cref="WalRecovery.OpenPath"/>
/// and <see cref="RecoveryText"/>. The log: six closed segments of 100 events (ids 1..600), sealed every 10.
/// </summary>
public class WalRecoveryRunTests
{
    private static TempDirectory SixSegments()
    {
        var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 6, perSegment: 100, Wal.Small, sealEvery: 10);
        return dir;
    }

    private static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];

    [Fact]
    public void The_handler_sees_every_event_once_in_order_from_a_middle_id_with_its_segment()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        var ids = new List<long>();
        RecoveryReport report = recovery.Run(250, e =>
        {
            Assert.Equal(Wal.Payload(e.EventId, Wal.PayloadLength(e.EventId)), e.Payload.ToArray());
            Assert.Equal(Wal.SegmentPath(dir.Path, (e.EventId - 1) / 100), recovery.CurrentSegment);
            ids.Add(e.EventId);
        });
        Assert.Equal(Range(250, 600), ids);
        Assert.Equal(RecoveryOutcome.Complete, report.Outcome);
        Assert.True(report.IsComplete);
        Assert.Equal((351L, 250L, 600L), (report.EventsReplayed, report.FirstEventId, report.LastEventId));
        Assert.Equal(LogEnd.Closed, report.Tail);
        Assert.Null(recovery.CurrentSegment); // the end: no segment is open
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path));
    }

    [Fact]
    public void Without_a_handler_the_events_are_counted_and_verified()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        RecoveryReport report = recovery.Run(1);
        Assert.Equal((600L, 1L, 600L), (report.EventsReplayed, report.FirstEventId, report.LastEventId));
        Assert.Equal(Range(1, 600).Sum(i => (long)Wal.PayloadLength(i)), report.PayloadBytes);
        Assert.Equal("complete", RecoveryText.Verdict(report));

        RecoveryReport beyond = recovery.Run(601);
        Assert.Equal(RecoveryOutcome.NothingToReplay, beyond.Outcome);
        Assert.Equal("complete: nothing to replay", RecoveryText.Verdict(beyond));
    }

    [Fact]
    public void Progress_is_told_at_the_start_and_then_as_the_replay_goes_up_to_the_whole()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        var seen = new List<RecoveryProgress>();
        recovery.Run(301, _ => { }, seen.Add, progressInterval: TimeSpan.Zero); // a handler: the clock is read at every event
        Assert.Equal(new RecoveryProgress(0, 0, 301, 600, TimeSpan.Zero), seen[0]);
        Assert.Equal(0, seen[0].Percent);
        Assert.Equal(301, seen.Count); // the start, then every event
        Assert.Equal(Range(301, 600), seen.Skip(1).Select(p => p.EventId));
        Assert.Equal(Range(1, 300), seen.Skip(1).Select(p => p.EventsReplayed));
        Assert.All(seen.Skip(1), p => Assert.Equal((301L, 600L), (p.FirstEventId, p.LastEventId)));
        Assert.Equal(1.0, seen[^1].Fraction);
        Assert.Equal(100, seen[^1].Percent);
        Assert.Equal(50, seen[150].Percent); // event 450: 150 of 300
        Assert.True(seen.Zip(seen.Skip(1)).All(pair => pair.First.Elapsed <= pair.Second.Elapsed));

        // Without a handler the clock is read every 4,096 events: 600 events give the start only.
        var quiet = new List<RecoveryProgress>();
        recovery.Run(1, handler: null, quiet.Add, progressInterval: TimeSpan.Zero);
        Assert.Equal([new RecoveryProgress(0, 0, 1, 600, TimeSpan.Zero)], quiet);
    }

    [Theory]
    [InlineData(0, 1, 600, 0.0)]
    [InlineData(1, 1, 600, 1 / 600.0)]
    [InlineData(600, 1, 600, 1.0)]
    [InlineData(5, 5, 5, 1.0)]
    [InlineData(700, 1, 600, 1.0)]   // events a live recorder added after the catalog was read
    [InlineData(3, 10, 20, 0.0)]
    public void The_fraction_runs_from_the_first_id_reachable_to_the_last(long eventId, long first, long last, double fraction)
    {
        Assert.Equal(fraction, new RecoveryProgress(eventId, 1, first, last, TimeSpan.Zero).Fraction, 9);
    }

    [Fact]
    public void The_time_left_is_the_pace_so_far_applied_to_the_rest()
    {
        Assert.Null(new RecoveryProgress(0, 0, 1, 600, TimeSpan.Zero).Remaining);
        Assert.Equal(TimeSpan.FromSeconds(3), new RecoveryProgress(150, 150, 1, 600, TimeSpan.FromSeconds(1)).Remaining);
        Assert.Equal(TimeSpan.Zero, new RecoveryProgress(600, 600, 1, 600, TimeSpan.FromSeconds(4)).Remaining);
    }

    [Fact]
    public void Strict_damage_is_in_the_report_not_thrown_and_salvage_replays_around_it()
    {
        using TempDirectory dir = SixSegments();
        (string segment, _) = Wal.DamageBlock(dir.Path, 2, 3); // ids 231..240
        using (var strict = WalRecovery.OpenPath(dir.Path))
        {
            var ids = new List<long>();
            RecoveryReport report = strict.Run(1, e => ids.Add(e.EventId));
            Assert.Equal(Range(1, 230), ids);
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, report.Outcome);
            Assert.Equal(segment, report.Failure!.File);
            Assert.Equal(3, report.Failure.BlockIndex);
            Assert.Equal(FindingCode.BlockChecksumMismatch, report.Failure.Code);
            Assert.StartsWith($"STOPPED at damage (strict): {segment}:{report.Failure.Offset}: damage BlockChecksumMismatch block 3: ", RecoveryText.Verdict(report), StringComparison.Ordinal);
            Assert.True(RecoveryText.FoundDamage(report));

            // Replay keeps its contract: strict mode's stop is thrown, with the same finding.
            var thrown = Assert.Throws<WalCorruptionException>(() => strict.Replay(1, _ => { }));
            Assert.Equal(report.Failure, thrown.Finding);
        }

        using var salvage = WalRecovery.OpenPath(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Salvage });
        var salvaged = new List<long>();
        RecoveryReport damaged = salvage.Run(1, e => salvaged.Add(e.EventId));
        Assert.Equal([.. Range(1, 230), .. Range(241, 600)], salvaged);
        LostRange gap = Assert.Single(damaged.Gaps);
        Assert.Equal((231L, (long?)240L, (long?)10L), (gap.FirstEventId, gap.LastEventId, gap.Count));
        // Public collection types: PowerShell indexes them ($report.Gaps[0]); it cannot index the compiler's own.
        Assert.All(new object[] { damaged.Gaps, damaged.Damage, damaged.DamagedSegments }, list => Assert.True(list.GetType().IsArray, list.GetType().FullName));
        Assert.Equal($"gap: events 231..240 (10) lost: {gap.Cause}", RecoveryText.Gap(gap));
        Assert.Equal("DAMAGED (salvaged): 1 gap(s), 10 event(s) lost, 1 damaged file(s)", RecoveryText.Verdict(damaged));
    }

    [Fact]
    public void Cancelling_stops_the_replay_after_the_event_in_hand_and_releases_every_file()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        using var stop = new CancellationTokenSource();
        var ids = new List<long>();
        RecoveryReport report = recovery.Run(1, e =>
        {
            ids.Add(e.EventId);
            if (e.EventId == 150)
            {
                stop.Cancel(); // what Ctrl+C does to Invoke-WalRecovery
            }
        }, cancellation: stop.Token);
        Assert.Equal(Range(1, 150), ids);
        Assert.Equal(RecoveryOutcome.Stopped, report.Outcome);
        Assert.Equal(150, report.LastEventId);
        Assert.Equal("stopped before the end of the log", RecoveryText.Verdict(report));
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path));

        RecoveryReport cancelledBefore = recovery.Run(1, cancellation: stop.Token);
        Assert.Equal((RecoveryOutcome.Stopped, 0L), (cancelledBefore.Outcome, cancelledBefore.EventsReplayed));
    }

    [Fact]
    public void What_the_handler_throws_ends_the_replay_is_thrown_on_and_a_new_run_starts_afresh()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        var thrown = Assert.Throws<InvalidOperationException>(() => recovery.Run(1, e =>
        {
            if (e.EventId == 420)
            {
                throw new InvalidOperationException("the application could not apply event 420");
            }
        }));
        Assert.Equal("the application could not apply event 420", thrown.Message);
        Assert.Equal(RecoveryOutcome.Stopped, recovery.Report.Outcome);
        Assert.Equal(420, recovery.Report.LastEventId);
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path));

        Assert.Equal(600, recovery.Run(1).EventsReplayed);
    }

    [Fact]
    public void OpenPath_opens_a_directory_or_one_segment_file()
    {
        using TempDirectory dir = SixSegments();
        Assert.Equal(6, WalCatalog.OpenPath(dir.Path).Segments.Count);
        SegmentScan file4 = Assert.Single(WalCatalog.OpenPath(Wal.SegmentPath(dir.Path, 4)).Segments);
        Assert.Equal((4L, 401L, 500L), (file4.SegmentIndex, file4.FirstEventId, file4.LastEventId));

        // A closed segment read from its summary (what Get-WalSegment shows) describes itself as a full scan does.
        Assert.True(file4.IsQuick);
        Assert.Equal(SegmentVerifier.Verify(file4.Path).Segments.Single(), file4.ToInfo());
        Assert.Equal(10, file4.ToInfo().Blocks);

        using (var directory = WalRecovery.OpenPath(dir.Path))
        {
            Assert.Equal(6, directory.Catalog.Segments.Count);
            Assert.Equal(600, directory.Run(1).EventsReplayed);
        }

        using (var file = WalRecovery.OpenPath(Wal.SegmentPath(dir.Path, 4)))
        {
            Assert.Single(file.Catalog.Segments);
            RecoveryReport report = file.Run(1);
            Assert.Equal((100L, 401L, 500L), (report.EventsReplayed, report.FirstEventId, report.LastEventId));
        }

        string missing = Path.Combine(dir.Path, "missing");
        Assert.Equal("WalPathNotFound", Assert.Throws<WalPathNotFoundException>(() => WalRecovery.OpenPath(missing)).ErrorId);
    }

    [Fact]
    public void A_file_where_a_directory_is_needed_is_named_by_its_own_error()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 0);
        string expected = $"'{segment}' is a file; a WAL directory was expected.";
        Assert.Equal(expected, Assert.Throws<WalNotADirectoryException>(() => WalCatalog.Open(segment)).Message);
        Assert.Equal(expected, Assert.Throws<WalNotADirectoryException>(() => WalDirectory.List(segment)).Message);
        var tailer = Assert.Throws<WalNotADirectoryException>(() => WalTailer.Open(segment));
        Assert.Equal(("WalPathNotADirectory", segment), (tailer.ErrorId, tailer.Path));
    }
}
