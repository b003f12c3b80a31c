using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Hosting;

public class RecorderRegistryTests
{
    internal static readonly WalRecorderHostOptions Small = new() { Recorder = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 } };

    [Fact]
    public void Start_registers_a_running_recorder_under_its_name()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        NamedRecorder recorder = registry.Start("demo", dir.Sub("wal"), Small);
        try
        {
            Assert.Equal("demo", recorder.Name);
            Assert.Equal(Path.Combine(dir.Path, "wal"), recorder.Path);
            Assert.Equal(RecorderState.Running, recorder.State);
            Assert.Equal(1, recorder.FirstEventId);
            Assert.Same(recorder, registry.Get("DEMO"));
            Assert.Equal(1, registry.Count);
        }
        finally
        {
            registry.StopAll();
        }
    }

    [Fact]
    public void Without_a_name_a_recorder_is_named_after_its_directory()
    {
        Assert.Equal("wal", RecorderRegistry.DefaultName("/data/wal"));
        Assert.Equal("wal", RecorderRegistry.DefaultName("/data/wal/"));
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        NamedRecorder recorder = registry.Start(null, Path.Combine(dir.Path, "orders") + Path.DirectorySeparatorChar, Small);
        registry.StopAll();
        Assert.Equal("orders", recorder.Name);
        Assert.Equal(Path.Combine(dir.Path, "orders"), recorder.Path);
    }

    [Fact]
    public void A_name_in_use_is_refused_whatever_its_case_and_opens_nothing()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        registry.Start("demo", dir.Sub("a"), Small);
        try
        {
            var e = Assert.Throws<WalRecorderNameInUseException>(() => registry.Start("Demo", Path.Combine(dir.Path, "b"), Small));
            Assert.Equal("WalRecorderNameInUse", e.ErrorId);
            Assert.False(Directory.Exists(Path.Combine(dir.Path, "b")));
            Assert.Equal(1, registry.Count);
        }
        finally
        {
            registry.StopAll();
        }
    }

    [Fact]
    public void A_second_recorder_of_a_directory_is_refused_naming_the_first()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        registry.Start("first", dir.Sub("wal"), Small);
        try
        {
            var e = Assert.Throws<WalDirectoryLockedException>(() => registry.Start("second", Path.Combine(dir.Path, "wal") + "/", Small));
            Assert.Equal("WalDirectoryLocked", e.ErrorId);
            Assert.Equal("first", e.RecorderName);
            Assert.Contains("'first'", e.Message, StringComparison.Ordinal);
            Assert.False(registry.TryGet("second", out _));
        }
        finally
        {
            registry.StopAll();
        }
    }

    [Fact]
    public void A_directory_another_registry_writes_is_refused_by_its_lock()
    {
        using var dir = new TempDirectory();
        var one = new RecorderRegistry();
        var other = new RecorderRegistry();
        one.Start("a", dir.Path, Small);
        try
        {
            Assert.Throws<WalDirectoryLockedException>(() => other.Start("b", dir.Path, Small));
            Assert.Equal(0, other.Count);
        }
        finally
        {
            one.StopAll();
        }
    }

    [Fact]
    public void Invalid_names_and_options_are_refused_before_anything_is_created()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        string wal = Path.Combine(dir.Path, "wal");
        Assert.Throws<WalRecorderNameInvalidException>(() => registry.Start("de*mo", wal, Small));
        Assert.Throws<WalRecorderNameInvalidException>(() => registry.Start(null, Path.Combine(dir.Path, "wal[1]"), Small));
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.Start("demo", wal, Small with { Recorder = Small.Recorder with { BlockSize = 1000 } }));
        Assert.False(Directory.Exists(wal));
        Assert.Equal(0, registry.Count);

        // The name is free again after a failed start.
        registry.Start("demo", wal, Small);
        registry.StopAll();
    }

    [Fact]
    public void Find_matches_wildcards_and_reports_plain_names_that_match_nothing()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        foreach (string name in new[] { "orders-eu", "orders-us", "quotes" })
        {
            registry.Start(name, dir.Sub(name), Small);
        }

        try
        {
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
        finally
        {
            registry.StopAll();
        }
    }

    [Fact]
    public void Stop_closes_the_log_intact_frees_the_name_and_the_directory_and_keeps_final_values()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        NamedRecorder recorder = registry.Start("demo", dir.Path, Small);
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
        Assert.Equal(0, registry.Count);

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact);
        Assert.False(report.HasTornTail);
        Assert.Equal(10_000, report.Events);
        Assert.Equal(segments, report.Segments.Count);

        // Stopping again does nothing; events are refused with their own error.
        recorder.Stop();
        var e = Assert.Throws<WalRecorderStoppedException>(() => recorder.Submit("late"u8));
        Assert.Equal("WalRecorderStopped", e.ErrorId);
        Assert.Throws<WalRecorderStoppedException>(() => recorder.GetTelemetry());

        // The name and the directory are free: a new recorder continues the log.
        NamedRecorder next = registry.Start("demo", dir.Path, Small);
        Assert.Equal(10_001, next.FirstEventId);
        registry.StopAll();
    }

    [Fact]
    public void StopAll_stops_every_recorder_and_leaves_each_log_closed()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        var recorders = Enumerable.Range(0, 3).Select(i => registry.Start($"r{i}", dir.Sub($"r{i}"), Small)).ToList();
        foreach (NamedRecorder recorder in recorders)
        {
            for (int i = 0; i < 1000; i++)
            {
                recorder.Submit("event"u8);
            }
        }

        Assert.Empty(registry.StopAll());
        Assert.Equal(0, registry.Count);
        Assert.All(recorders, r => Assert.Equal(RecorderState.Stopped, r.State));
        Assert.All(recorders, r =>
        {
            VerificationReport report = SegmentVerifier.Verify(r.Path);
            Assert.True(report.IsIntact && !report.HasTornTail && report.Events == 1000);
        });
        Assert.Empty(registry.StopAll());
    }

    [Fact]
    public void Live_properties_follow_the_recorder()
    {
        using var dir = new TempDirectory();
        var registry = new RecorderRegistry();
        NamedRecorder recorder = registry.Start("demo", dir.Path, Small);
        try
        {
            Assert.Equal(0, recorder.Events);
            Assert.True(recorder.WaitForDurable(TimeSpan.FromSeconds(10)));
            recorder.Submit("a"u8);
            recorder.Submit("b"u8);
            Assert.True(recorder.WaitForDurable(TimeSpan.FromSeconds(10)));
            Assert.Equal(2, recorder.Events);
            Assert.Equal(2, recorder.LastEventId);
            Assert.True(recorder.CommittedEventId >= 2);
            Assert.True(recorder.DurableEventId >= 2);
            Assert.Equal(1, recorder.Segments);
            Assert.Equal(DurabilityPolicy.Interval, recorder.Durability);
            Assert.Equal(2, recorder.GetTelemetry().LastEventId);
        }
        finally
        {
            registry.StopAll();
        }
    }

    [Fact]
    public void The_default_registry_is_one_per_process_and_stops_on_SIGTERM_where_there_are_signals()
    {
        Assert.Same(RecorderRegistry.Default, RecorderRegistry.Default);
        Assert.Equal(!OperatingSystem.IsBrowser() && !OperatingSystem.IsIOS() && !OperatingSystem.IsTvOS() && !OperatingSystem.IsAndroid(), RecorderRegistry.Default.StopsOnSigterm);
    }
}
