using System.Globalization;
using System.Text;
using FlashWal.Recording;
using FlashWal.Tests.Reliability;

namespace FlashWal.Tests.Durability;

/// <summary>
/// One power-cut fuzz case, drawn from (seed, index) alone: how the recorder runs (policy, tiny
/// segments, commits, payloads, retention, compression, the host, a process kill) and where the power
/// is cut. The draw is deterministic; what the engine's threads do in between is not, so a replay
/// reruns the same configuration and cut points (see <see cref="PowerCutFuzzTests"/>).
/// </summary>
internal sealed record PowerCutCase
{
    public const int BlockSize = 4096;

    /// <summary>The largest payload a 4 KiB block holds.</summary>
    public const int MaxPayload = BlockSize - 64 - 24;

    public required int Seed { get; init; }

    public required int Index { get; init; }

    /// <summary>Seeds everything the case draws after its configuration, and the payloads.</summary>
    public required int CaseSeed { get; init; }

    public required DurabilityPolicy Durability { get; init; }

    public required int SyncIntervalMs { get; init; }

    public required int CheckpointIntervalMs { get; init; }

    public required long SegmentSize { get; init; }

    public required int MinPayload { get; init; }

    public required int MaxPayloadSize { get; init; }

    /// <summary>A commit after this many appends.</summary>
    public required int CommitEvery { get; init; }

    /// <summary>An explicit <see cref="WalRecorder.Flush"/> every this many commits (0: never), so that every policy reports durable ids.</summary>
    public required int FlushEvery { get; init; }

    public required int Events { get; init; }

    public required int? CompressAfter { get; init; }

    public required int? MaxSegments { get; init; }

    /// <summary>Producer threads through a <see cref="WalRecorderHost"/>; 0: a <see cref="WalRecorder"/> driven directly.</summary>
    public required int Producers { get; init; }

    /// <summary>After this many appends the recorder is abandoned as a killed process leaves it and reopened on the same disk (0: never).</summary>
    public required int KillAfter { get; init; }

    public required bool UsePreparer { get; init; }

    /// <summary>The number of the sync that fails with EIO (0: none); the case's cuts are then <see cref="PowerCutModel.FailSync"/> cuts.</summary>
    public required int FailSyncAt { get; init; }

    /// <summary>Cuts scheduled in the first run, besides the one at its end.</summary>
    public required int Cuts { get; init; }

    /// <summary>The mean number of disk operations between two scheduled cuts.</summary>
    public required int MeanGap { get; init; }

    /// <summary>Whether the cut at the end comes after the recorder's clean close (else with it still open).</summary>
    public required bool EndCutAfterClose { get; init; }

    /// <summary>Events the restarted recorder records after each cut, before its own cut.</summary>
    public required int SecondRunEvents { get; init; }

    public bool UsesHost => Producers > 0;

    public bool HasRetention => MaxSegments is not null;

    public static PowerCutCase Draw(int seed, int index)
    {
        int caseSeed = Mix(seed, index); // not HashCode.Combine: it is seeded anew in every process
        var random = new Random(caseSeed);
        var durability = (DurabilityPolicy)random.Next(3);
        int producers = random.Next(5) == 0 ? random.Next(2, 5) : 0;
        int events = random.Next(300, 2000);
        (int min, int max) = random.Next(10) switch
        {
            < 4 => (20, 100),
            < 8 => (20, 600),
            _ => (20, MaxPayload),
        };
        if (max == MaxPayload)
        {
            events /= 4; // large events fill tiny segments fast
        }

        return new PowerCutCase
        {
            Seed = seed,
            Index = index,
            CaseSeed = caseSeed,
            Durability = durability,
            SyncIntervalMs = random.Next(1, 6),
            CheckpointIntervalMs = random.Next(2) == 0 ? 10 : 1000,
            SegmentSize = random.Next(4, 33) * 4096L,
            MinPayload = min,
            MaxPayloadSize = max,
            CommitEvery = random.Next(3) == 0 ? 1 : random.Next(2, 41),
            FlushEvery = random.Next(3) == 0 ? 0 : random.Next(1, 11),
            Events = events,
            CompressAfter = random.Next(4) == 0 ? random.Next(0, 3) : null,
            MaxSegments = random.Next(4) == 0 ? random.Next(2, 7) : null,
            Producers = producers,
            KillAfter = producers == 0 && random.Next(3) == 0 ? random.Next(events / 4, 3 * events / 4) : 0,
            UsePreparer = random.Next(5) > 0,
            FailSyncAt = random.Next(8) == 0 ? random.Next(1, 80) : 0,
            Cuts = random.Next(3, 9),
            MeanGap = random.Next(8, 60),
            EndCutAfterClose = random.Next(3) == 0,
            SecondRunEvents = random.Next(30, 250),
        };
    }

    /// <summary>A seed from two numbers, the same in every process.</summary>
    public static int Mix(int a, long b) => (int)(StressPayload.Mix(((ulong)(uint)a << 32) ^ (ulong)b) & 0x7FFFFFFF);

    /// <summary>The recorder options of this case, through <paramref name="disk"/>.</summary>
    public WalRecorderOptions RecorderOptions(SimulatedDisk disk) => new()
    {
        SegmentSize = SegmentSize,
        BlockSize = BlockSize,
        Durability = Durability,
        SyncInterval = TimeSpan.FromMilliseconds(SyncIntervalMs),
        CheckpointInterval = TimeSpan.FromMilliseconds(CheckpointIntervalMs),
        UsePreparer = UsePreparer,
        Retention = new RetentionPolicy { CompressAfter = CompressAfter, MaxSegments = MaxSegments },
        Disk = disk,
    };

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(UsesHost ? $"host with {Producers} producers" : "recorder");
        text.Append(CultureInfo.InvariantCulture, $", {Durability}{(Durability == DurabilityPolicy.Interval ? $" {SyncIntervalMs} ms" : "")}");
        text.Append(CultureInfo.InvariantCulture, $", segments {SegmentSize / 1024} KiB, payloads {MinPayload}..{MaxPayloadSize} B, {Events} events");
        text.Append(CultureInfo.InvariantCulture, $", commit every {CommitEvery}{(FlushEvery > 0 ? $", flush every {FlushEvery} commits" : "")}, checkpoint every {CheckpointIntervalMs} ms");
        text.Append(CompressAfter is { } c ? $", compress after {c}" : "").Append(MaxSegments is { } k ? $", keep {k} segments" : "");
        text.Append(KillAfter > 0 ? $", killed after {KillAfter} appends and reopened" : "").Append(UsePreparer ? "" : ", no preparer");
        text.Append(FailSyncAt > 0 ? $", sync #{FailSyncAt} fails (EIO)" : "");
        text.Append(CultureInfo.InvariantCulture, $", {Cuts} cuts ~{MeanGap} operations apart, end cut {(EndCutAfterClose ? "after" : "before")} the close, {SecondRunEvents} events after each restart");
        return text.ToString();
    }
}
