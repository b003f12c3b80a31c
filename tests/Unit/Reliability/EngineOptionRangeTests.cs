using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Storage;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Every numeric and enum option at and around its limits: out of range is an
/// <see cref="ArgumentOutOfRangeException"/> naming the option and the allowed range, thrown before
/// anything is created on disk; the edge values themselves are accepted.
/// </summary>
public class EngineOptionRangeTests
{
    private const int Kib = 1024;
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    /// <summary>(case, options, option named, words of the range, or null when the value is valid).</summary>
    public static TheoryData<string, WalRecorderOptions, string?, string?> RecorderCases() => new()
    {
        { "block 4 KiB (min)", new() { BlockSize = 4 * Kib, SegmentSize = 8 * Kib }, null, null },
        { "block 16 MiB (max)", new() { BlockSize = 16 * Kib * Kib, SegmentSize = 16 * Kib * Kib + 4 * Kib, Prefault = PrefaultMode.None }, null, null },
        { "block min-1", new() { BlockSize = 4 * Kib - 1 }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block 2 KiB", new() { BlockSize = 2 * Kib }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block max*2", new() { BlockSize = 32 * Kib * Kib }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block max+1", new() { BlockSize = 16 * Kib * Kib + 1 }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block 0", new() { BlockSize = 0 }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block negative", new() { BlockSize = -4096 }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block int.MinValue", new() { BlockSize = int.MinValue }, "BlockSize", "power of two from 4096 to 16777216" },
        { "block not a power of two", new() { BlockSize = 12 * Kib }, "BlockSize", "power of two from 4096 to 16777216" },
        { "segment min", new() { BlockSize = 64 * Kib, SegmentSize = 68 * Kib }, null, null },
        { "segment min-4KiB", new() { BlockSize = 64 * Kib, SegmentSize = 64 * Kib }, "SegmentSize", "from 69632" },
        { "segment misaligned", new() { SegmentSize = 8 * Kib * Kib + 1 }, "SegmentSize", "multiple of 4096" },
        { "segment 0", new() { SegmentSize = 0 }, "SegmentSize", "multiple of 4096" },
        { "segment negative", new() { SegmentSize = -8192 }, "SegmentSize", "multiple of 4096" },
        { "segment 1 TiB (max)", new() { SegmentSize = 1L << 40 }, null, null },
        { "segment max+4KiB", new() { SegmentSize = (1L << 40) + 4 * Kib }, "SegmentSize", "to 1099511627776 bytes" },
        { "segment long.MaxValue", new() { SegmentSize = long.MaxValue }, "SegmentSize", "to 1099511627776 bytes" },
        { "prefault undefined", new() { Prefault = (PrefaultMode)99 }, "Prefault", "Unknown prefault mode" },
        { "durability undefined", new() { Durability = (DurabilityPolicy)(-1) }, "Durability", "Unknown durability policy" },
        { "sync 1 ms (min)", new() { SyncInterval = Ms }, null, null },
        { "sync 1 h (max)", new() { SyncInterval = TimeSpan.FromHours(1) }, null, null },
        { "sync below 1 ms", new() { SyncInterval = Ms - TimeSpan.FromTicks(1) }, "SyncInterval", "from 1 ms to 1 hour" },
        { "sync above 1 h", new() { SyncInterval = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1) }, "SyncInterval", "from 1 ms to 1 hour" },
        { "sync 0", new() { SyncInterval = TimeSpan.Zero }, "SyncInterval", "from 1 ms to 1 hour" },
        { "sync negative", new() { SyncInterval = -Ms }, "SyncInterval", "from 1 ms to 1 hour" },
        { "sync infinite", new() { SyncInterval = Timeout.InfiniteTimeSpan }, "SyncInterval", "from 1 ms to 1 hour" },
        { "checkpoint 10 ms (min)", new() { CheckpointInterval = 10 * Ms }, null, null },
        { "checkpoint 1 h (max)", new() { CheckpointInterval = TimeSpan.FromHours(1) }, null, null },
        { "checkpoint below 10 ms", new() { CheckpointInterval = 10 * Ms - TimeSpan.FromTicks(1) }, "CheckpointInterval", "from 10 ms to 1 hour" },
        { "checkpoint above 1 h", new() { CheckpointInterval = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1) }, "CheckpointInterval", "from 10 ms to 1 hour" },
        { "checkpoint 0", new() { CheckpointInterval = TimeSpan.Zero }, "CheckpointInterval", "from 10 ms to 1 hour" },
        { "checkpoint negative", new() { CheckpointInterval = TimeSpan.MinValue }, "CheckpointInterval", "from 10 ms to 1 hour" },
        { "retention 2 segments (min)", new() { Retention = new() { MaxSegments = 2 } }, null, null },
        { "retention 1 segment", new() { Retention = new() { MaxSegments = 1 } }, "MaxSegments", "at least 2" },
        { "retention 0 segments", new() { Retention = new() { MaxSegments = 0 } }, "MaxSegments", "at least 2" },
        { "retention negative segments", new() { Retention = new() { MaxSegments = int.MinValue } }, "MaxSegments", "at least 2" },
        { "retention 1 byte (min)", new() { Retention = new() { MaxBytes = 1 } }, null, null },
        { "retention 0 bytes", new() { Retention = new() { MaxBytes = 0 } }, "MaxBytes", "positive" },
        { "retention negative bytes", new() { Retention = new() { MaxBytes = -1 } }, "MaxBytes", "positive" },
        { "retention 1 tick (min)", new() { Retention = new() { MaxAge = TimeSpan.FromTicks(1) } }, null, null },
        { "retention age 0", new() { Retention = new() { MaxAge = TimeSpan.Zero } }, "MaxAge", "positive" },
        { "retention negative age", new() { Retention = new() { MaxAge = TimeSpan.FromDays(-1) } }, "MaxAge", "positive" },
        { "compress after 0 (min)", new() { Retention = new() { CompressAfter = 0 } }, null, null },
        { "compress after -1", new() { Retention = new() { CompressAfter = -1 } }, "CompressAfter", "0 or more" },
    };

    [Theory]
    [MemberData(nameof(RecorderCases))]
    public void WalRecorderOptions_at_their_limits(string name, WalRecorderOptions options, string? option, string? range)
    {
        Assert.NotNull(name);
        AssertValidation(() => options.Validate(), option, range);
        if (option is null)
        {
            return;
        }

        // Every way in refuses it the same way, before touching the disk.
        using var temp = new TempDirectory();
        string wal = temp.File("wal");
        AssertValidation(() => WalRecorder.Open(wal, options).Dispose(), option, range);
        AssertValidation(() => WalRecorderHost.Start(wal, new WalRecorderHostOptions { Recorder = options }).Dispose(), option, range);
        if (option is "BlockSize" or "SegmentSize" or "Prefault")
        {
            AssertValidation(() => options.Segments.Validate(), option, range);
            AssertValidation(() => SegmentWriter.Create(temp.Sub("segments"), 0, LogId.NewId(), options.Segments).Dispose(), option, range);
        }

        Assert.False(Path.Exists(wal));
    }

    [Fact]
    public void The_edge_options_record_and_read_back()
    {
        using var temp = new TempDirectory();
        var options = new WalRecorderOptions
        {
            BlockSize = 4 * Kib, SegmentSize = 8 * Kib, SyncInterval = Ms, CheckpointInterval = 10 * Ms,
            Retention = new() { MaxSegments = 1000, CompressAfter = 0 },
        };
        BadInput.Write(temp.Path, 200, options);
        BadInput.AssertHolds(temp.Path, 200);
    }

    public static TheoryData<string, WalRecorderHostOptions, string?, string?> HostCases() => new()
    {
        { "queue 2 (min)", new() { QueueCapacity = 2 }, null, null },
        { "queue 2^24 (max)", new() { QueueCapacity = 1 << 24 }, null, null },
        { "queue 1", new() { QueueCapacity = 1 }, "QueueCapacity", "power of two from 2 to 16777216" },
        { "queue 0", new() { QueueCapacity = 0 }, "QueueCapacity", "power of two from 2 to 16777216" },
        { "queue negative", new() { QueueCapacity = -2 }, "QueueCapacity", "power of two from 2 to 16777216" },
        { "queue 2^25", new() { QueueCapacity = 1 << 25 }, "QueueCapacity", "power of two from 2 to 16777216" },
        { "queue not a power of two", new() { QueueCapacity = 1000 }, "QueueCapacity", "power of two from 2 to 16777216" },
        { "batch 1 (min)", new() { MaxBatch = 1 }, null, null },
        { "batch int.MaxValue", new() { MaxBatch = int.MaxValue }, null, null },
        { "batch 0", new() { MaxBatch = 0 }, "MaxBatch", "at least 1" },
        { "batch negative", new() { MaxBatch = -1 }, "MaxBatch", "at least 1" },
        { "when full undefined", new() { WhenFull = (QueueFullBehavior)2 }, "WhenFull", "Unknown queue-full behavior" },
        { "recorder option inside", new() { Recorder = new() { BlockSize = 3 } }, "BlockSize", "power of two" },
    };

    [Theory]
    [MemberData(nameof(HostCases))]
    public void WalRecorderHostOptions_at_their_limits(string name, WalRecorderHostOptions options, string? option, string? range)
    {
        Assert.NotNull(name);
        AssertValidation(() => options.Validate(), option, range);
        if (option is not null)
        {
            using var temp = new TempDirectory();
            string wal = temp.File("wal");
            AssertValidation(() => WalRecorderHost.Start(wal, options).Dispose(), option, range);
            Assert.False(Path.Exists(wal));
        }
    }

    [Fact]
    public void Null_nested_options_are_named()
    {
        Assert.Equal("Retention", Assert.Throws<ArgumentNullException>(() => new WalRecorderOptions { Retention = null! }.Validate()).ParamName);
        Assert.Equal("Recorder", Assert.Throws<ArgumentNullException>(() => new WalRecorderHostOptions { Recorder = null! }.Validate()).ParamName);
    }

    public static TheoryData<string, TailerOptions, string?, string?> TailerCases() => new()
    {
        { "sleep 1 ms (min)", new() { MaxIdleSleep = Ms }, null, null },
        { "sleep 1 s (max)", new() { MaxIdleSleep = TimeSpan.FromSeconds(1) }, null, null },
        { "sleep below 1 ms", new() { MaxIdleSleep = Ms - TimeSpan.FromTicks(1) }, "MaxIdleSleep", "from 1 ms to 1 s" },
        { "sleep above 1 s", new() { MaxIdleSleep = TimeSpan.FromSeconds(1) + TimeSpan.FromTicks(1) }, "MaxIdleSleep", "from 1 ms to 1 s" },
        { "sleep 0", new() { MaxIdleSleep = TimeSpan.Zero }, "MaxIdleSleep", "from 1 ms to 1 s" },
        { "sleep negative", new() { MaxIdleSleep = -Ms }, "MaxIdleSleep", "from 1 ms to 1 s" },
        { "probe 1 ms (min)", new() { LockProbeInterval = Ms }, null, null },
        { "probe 1 min (max)", new() { LockProbeInterval = TimeSpan.FromMinutes(1) }, null, null },
        { "probe below 1 ms", new() { LockProbeInterval = TimeSpan.FromTicks(9999) }, "LockProbeInterval", "from 1 ms to 1 minute" },
        { "probe above 1 min", new() { LockProbeInterval = TimeSpan.FromMinutes(1) + TimeSpan.FromTicks(1) }, "LockProbeInterval", "from 1 ms to 1 minute" },
        { "probe 0", new() { LockProbeInterval = TimeSpan.Zero }, "LockProbeInterval", "from 1 ms to 1 minute" },
        { "probe infinite", new() { LockProbeInterval = Timeout.InfiniteTimeSpan }, "LockProbeInterval", "from 1 ms to 1 minute" },
    };

    [Theory]
    [MemberData(nameof(TailerCases))]
    public void TailerOptions_at_their_limits(string name, TailerOptions options, string? option, string? range)
    {
        Assert.NotNull(name);
        AssertValidation(() => options.Validate(), option, range);
        using var temp = new TempDirectory();
        AssertValidation(() => WalTailer.Open(temp.Path, 1, options).Dispose(), option, range);
        AssertValidation(() => WalEventReader.Follow(temp.Path, null, options).Dispose(), option, range);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void A_tailer_start_below_1_is_refused_naming_it(long from)
    {
        using var temp = new TempDirectory();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => WalTailer.Open(temp.Path, from).Dispose());
        Assert.Equal("fromEventId", e.ParamName);
    }

    [Theory]
    [InlineData((RecoveryMode)2)]
    [InlineData((RecoveryMode)(-1))]
    public void An_undefined_recovery_mode_is_refused_naming_it(RecoveryMode mode)
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        var options = new RecoveryOptions { Mode = mode };
        AssertValidation(() => options.Validate(), "Mode", "Strict or Salvage");
        AssertValidation(() => WalRecovery.Open(temp.Path, options).Dispose(), "Mode", "Strict or Salvage");
        AssertValidation(() => WalRecovery.OpenPath(temp.Path, options).Dispose(), "Mode", "Strict or Salvage");
        AssertValidation(() => WalRecovery.OpenSegment(Wal.SegmentPath(temp.Path, 0), options).Dispose(), "Mode", "Strict or Salvage");
        AssertValidation(() => WalEventReader.Open(temp.Path, null, mode).Dispose(), "Mode", "Strict or Salvage");
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void A_negative_recovery_start_is_refused_naming_it(long from)
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        using WalRecovery recovery = WalRecovery.Open(temp.Path);
        Assert.Equal("eventId", Assert.Throws<ArgumentOutOfRangeException>(() => recovery.ResumeFrom(from)).ParamName);
        Assert.Equal("eventId", Assert.Throws<ArgumentOutOfRangeException>(() => recovery.Run(from)).ParamName);
        BadInput.AssertHolds(temp.Path, 10);
    }

    private static void AssertValidation(Action validate, string? option, string? range)
    {
        if (option is null)
        {
            validate();
            return;
        }

        var e = Assert.Throws<ArgumentOutOfRangeException>(validate);
        Assert.Equal(option, e.ParamName);
        Assert.Contains(range!, e.Message, StringComparison.Ordinal);
    }
}
