using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.Inspection;
using FlashWal.Recording;

namespace FlashWal.Tests.Hosting;

public class RecorderRegistryTests
{
    [Fact]
    public void Start_registers_a_running_recorder_under_its_name()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        Assert.Equal("demo", recorder.Name);
        Assert.Equal(recorders.Below("demo"), recorder.Path);
        Assert.Equal(RecorderState.Running, recorder.State);
        Assert.Equal(1, recorder.FirstEventId);
        Assert.Same(recorder, recorders.Registry.Get("DEMO"));
        Assert.Equal(1, recorders.Registry.Count);
    }

    [Fact]
    public void Without_a_name_a_recorder_is_named_after_its_directory()
    {
        Assert.Equal("wal", RecorderRegistry.DefaultName("/data/wal"));
        Assert.Equal("wal", RecorderRegistry.DefaultName("/data/wal/"));
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Registry.Start(null, recorders.Below("orders") + Path.DirectorySeparatorChar, TestRecorders.Small);
        Assert.Equal("orders", recorder.Name);
        Assert.Equal(recorders.Below("orders"), recorder.Path);
    }

    [Fact]
    public void A_name_in_use_is_refused_whatever_its_case_and_opens_nothing()
    {
        using var recorders = new TestRecorders();
        recorders.Start("demo", directory: recorders.Below("a"));
        var e = Assert.Throws<WalRecorderNameInUseException>(() => recorders.Start("Demo", directory: recorders.Below("b")));
        Assert.Equal("WalRecorderNameInUse", e.ErrorId);
        Assert.False(Directory.Exists(recorders.Below("b")));
        Assert.Equal(1, recorders.Registry.Count);
    }

    [Fact]
    public void A_second_recorder_of_a_directory_is_refused_naming_the_first()
    {
        using var recorders = new TestRecorders();
        recorders.Start("first", directory: recorders.Below("wal"));
        var e = Assert.Throws<WalDirectoryLockedException>(() => recorders.Start("second", directory: recorders.Below("wal") + "/"));
        Assert.Equal("WalDirectoryLocked", e.ErrorId);
        Assert.Equal("first", e.RecorderName);
        Assert.Contains("'first'", e.Message, StringComparison.Ordinal);
        Assert.False(recorders.Registry.TryGet("second", out _));
    }

    [Fact]
    public void A_directory_another_registry_writes_is_refused_by_its_lock()
    {
        using var one = new TestRecorders();
        using var other = new TestRecorders();
        one.Start("a", directory: one.Path);
        Assert.Throws<WalDirectoryLockedException>(() => other.Start("b", directory: one.Path));
        Assert.Equal(0, other.Registry.Count);
    }

    [Fact]
    public void Invalid_names_and_options_are_refused_before_anything_is_created()
    {
        using var recorders = new TestRecorders();
        string wal = recorders.Below("wal");
        Assert.Throws<WalRecorderNameInvalidException>(() => recorders.Start("de*mo", directory: wal));
        Assert.Throws<WalRecorderNameInvalidException>(() => recorders.Registry.Start(null, recorders.Below("wal[1]"), TestRecorders.Small));
        Assert.Throws<ArgumentOutOfRangeException>(() => recorders.Start("demo", o => o with { BlockSize = 1000 }, wal));
        Assert.False(Directory.Exists(wal));
        Assert.Equal(0, recorders.Registry.Count);

        // The name is free again after a failed start.
        recorders.Start("demo", directory: wal);
    }

    [Fact]
    public void Find_matches_wildcards_and_reports_plain_names_that_match_nothing()
    {
        using var recorders = new TestRecorders();
        foreach (string name in new[] { "orders-eu", "orders-us", "quotes" })
        {
            recorders.Start(name);
        }

        RecorderRegistry registry = recorders.Registry;
        var unmatched = new List<string>();
        Assert.Equal(["orders-eu", "orders-us"], registry.Find(["orders-*"], unmatched).Select(r => r.Name));
        Assert.Equal(["quotes", "orders-eu", "orders-us"], registry.Find(["QUOTES", "*"], unmatched).Select(r => r.Name));
        Assert.Empty(unmatched);

        Assert.Empty(registry.Find(["nothing-*"], unmatched));
        Assert.Empty(unmatched);

        Assert.Equal(["quotes"], registry.Find(["missing", "quotes", "gone"], unmatched).Select(r => r.Name));
        Assert.Equal(["missing", "gone"], unmatched);

        Assert.Equal(["orders-eu", "orders-us", "quotes"], registry.List().Select(r => r.Name));
        Assert.Throws<WalRecorderNotFoundException>(() => registry.Get("missing"));
    }

    [Fact]
    public void Stop_closes_the_log_intact_frees_the_name_and_the_directory_and_keeps_final_values()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        for (int i = 0; i < 10_000; i++)
        {
            recorder.Submit(EventPayload.From(i), 3);
        }

        recorder.Stop();
        Assert.Equal(RecorderState.Stopped, recorder.State);
        Assert.NotNull(recorder.StoppedAt);
        Assert.Equal(10_000, recorder.Events);
        Assert.Equal(10_000, recorder.LastEventId);
        Assert.Equal(10_000, recorder.CommittedEventId);
        Assert.Equal(10_000, recorder.DurableEventId);
        Assert.Equal(0, recorder.QueueLength);
        int segments = recorder.Segments;
        Assert.True(segments > 1, $"{segments} segment(s)");
        Assert.Equal(0, recorders.Registry.Count);

        VerificationReport report = SegmentVerifier.Verify(recorder.Path);
        Assert.True(report.IsIntact);
        Assert.False(report.HasTornTail);
        Assert.Equal(10_000, report.Events);
        Assert.Equal(segments, report.Segments.Count);
        Assert.All(report.Segments, s => Assert.Equal(SegmentState.Closed, s.State));

        // Stopping again does nothing; events are refused with their own error.
        recorder.Stop();
        var e = Assert.Throws<WalRecorderStoppedException>(() => recorder.Submit("late"u8));
        Assert.Equal("WalRecorderStopped", e.ErrorId);
        Assert.Throws<WalRecorderStoppedException>(() => recorder.GetTelemetry());

        // The name and the directory are free: a new recorder continues the log.
        Assert.Equal(10_001, recorders.Start("demo").FirstEventId);
    }

    [Fact]
    public void StopAll_stops_every_recorder_and_leaves_each_log_closed()
    {
        using var recorders = new TestRecorders();
        var started = Enumerable.Range(0, 3).Select(i => recorders.Start($"r{i}")).ToList();
        foreach (NamedRecorder recorder in started)
        {
            for (int i = 0; i < 1000; i++)
            {
                recorder.Submit("event"u8);
            }
        }

        Assert.Empty(recorders.Registry.StopAll());
        Assert.Equal(0, recorders.Registry.Count);
        Assert.All(started, r => Assert.Equal(RecorderState.Stopped, r.State));
        Assert.All(started, r =>
        {
            VerificationReport report = SegmentVerifier.Verify(r.Path);
            Assert.True(report.IsIntact && !report.HasTornTail && report.Events == 1000);
        });
        Assert.Empty(recorders.Registry.StopAll());
    }

    [Fact]
    public void Live_properties_follow_the_recorder()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        Assert.Equal(0, recorder.Events);
        Assert.True(recorder.WaitForDurable(TimeSpan.FromSeconds(10)));
        recorder.Submit("a"u8);
        recorder.Submit("b"u8);
        Assert.True(recorder.WaitForDurable(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, recorder.Events);
        Assert.Equal(2, recorder.LastEventId);
        Assert.True(recorder.CommittedEventId >= 2);
        Assert.True(recorder.DurableEventId >= 2);
        Assert.Equal(1, recorder.Segments); // the segments prepared ahead are not counted
        Assert.Equal(DurabilityPolicy.Interval, recorder.Durability);
        Assert.Equal(2, recorder.GetTelemetry().LastEventId);
    }

    [Fact]
    public void The_default_registry_is_one_per_process_and_stops_on_SIGTERM_where_there_are_signals()
    {
        Assert.Same(RecorderRegistry.Default, RecorderRegistry.Default);
        Assert.Equal(!OperatingSystem.IsBrowser() && !OperatingSystem.IsIOS() && !OperatingSystem.IsTvOS() && !OperatingSystem.IsAndroid(), RecorderRegistry.Default.StopsOnSigterm);
    }
}
