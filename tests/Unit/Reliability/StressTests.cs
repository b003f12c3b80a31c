using System.Globalization;
using FlashWal.Recording;
using FlashWal.Tests.Support;
using Xunit.Abstractions;

namespace FlashWal.Tests.Reliability;

/// <summary>The stress set runs alone: it measures the process's memory and file handles.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StressSet
{
    public const string Name = "Stress";
}

/// <summary>
/// The stress set (issue 7): many producer threads, millions of seeded events of random sizes through
/// every submission path of <see cref="WalRecorderHost"/> (and a <see cref="WalRecorder"/> driven
/// directly), under every durability policy, with small segments (many rotations), retention and
/// compression, a fail-fast queue; while a tailer, strict recoveries, segment scans and verifications
/// read the live directory and a sampler watches memory and handles. Quick set in CI (fixed seed);
/// the long set is the same test with more events:
/// <c>FLASHWAL_STRESS_EVENTS=50000000 FLASHWAL_STRESS_PRODUCERS=16 FLASHWAL_STRESS_SEED=20261121 FLASHWAL_STRESS_RESULTS=docs/results/stress-long.txt dotnet test tests/Unit -c Release --filter Category=Stress</c>.
/// </summary>
[Trait("Category", "Stress")]
[Collection(StressSet.Name)]
public sealed class StressTests(ITestOutputHelper output)
{
    /// <summary>The quick set's seed: fixed, so that CI runs the same events every time.</summary>
    public const int QuickSeed = 20261121;

    public const long QuickEvents = 1_200_000;

    private const int KiB = 1024;

    /// <summary>
    /// The configurations, each with its share of the events. The host's blocking submissions cost a
    /// thread switch each on two cores (about 20,000 events a second with every reader running), the
    /// recorder driven directly hundreds of thousands: the shares keep the quick set within 10-20 s.
    /// </summary>
    public static readonly StressConfig[] Configs =
    [
        new("host-interval", Direct: false, DurabilityPolicy.Interval, 1024 * KiB, 16 * KiB, QueueCapacity: 4096, QueueFullBehavior.Wait, KeepSegments: null, CompressAfter: null, Tailer: true, Recoveries: true, Scans: true, Share: 0.08),
        new("host-commit-retention", Direct: false, DurabilityPolicy.EveryCommit, 256 * KiB, 4 * KiB, QueueCapacity: 1024, QueueFullBehavior.Wait, KeepSegments: 12, CompressAfter: 3, Tailer: false, Recoveries: true, Scans: true, Share: 0.03),
        new("host-none-failfast", Direct: false, DurabilityPolicy.None, 512 * KiB, 8 * KiB, QueueCapacity: 64, QueueFullBehavior.FailFast, KeepSegments: null, CompressAfter: null, Tailer: true, Recoveries: true, Scans: false, Share: 0.12),
        new("direct-interval", Direct: true, DurabilityPolicy.Interval, 256 * KiB, 4 * KiB, QueueCapacity: 0, QueueFullBehavior.Wait, KeepSegments: null, CompressAfter: null, Tailer: true, Recoveries: true, Scans: true, Share: 0.62),
        new("direct-none-compress", Direct: true, DurabilityPolicy.None, 512 * KiB, 8 * KiB, QueueCapacity: 0, QueueFullBehavior.Wait, KeepSegments: null, CompressAfter: 2, Tailer: true, Recoveries: true, Scans: true, Share: 0.15),
    ];

    [Fact]
    public void Producers_lose_nothing_duplicate_nothing_keep_their_order_in_bounded_memory_while_live_readers_see_only_committed_events()
    {
        int seed = Env("FLASHWAL_STRESS_SEED", QuickSeed);
        long events = Env("FLASHWAL_STRESS_EVENTS", QuickEvents);
        int producers = (int)Env("FLASHWAL_STRESS_PRODUCERS", Math.Max(4, Environment.ProcessorCount * 2));
        var hangGuard = TimeSpan.FromSeconds(Env("FLASHWAL_STRESS_HANG_S", 120));
        string? only = Environment.GetEnvironmentVariable("FLASHWAL_STRESS_CONFIGS");
        string? results = Environment.GetEnvironmentVariable("FLASHWAL_STRESS_RESULTS");
        string replay = string.Create(CultureInfo.InvariantCulture, $"FLASHWAL_STRESS_SEED={seed} FLASHWAL_STRESS_EVENTS={events} FLASHWAL_STRESS_PRODUCERS={producers} dotnet test tests/Unit -c Release --filter Category=Stress");
        var tally = new StressTally { Seed = seed, Producers = producers, EventsAsked = events };
        output.WriteLine($"stress: seed {seed}, {events:N0} events, {producers} producers; replay: {replay}");
        void Write(string state)
        {
            if (!string.IsNullOrEmpty(results))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(results))!);
                File.WriteAllText(results, $"FlashWal stress set ({state}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\nreplay: {replay}\n{tally}");
            }
        }

        foreach (StressConfig config in Configs.Where(c => string.IsNullOrEmpty(only) || only.Split(',').Contains(c.Name)))
        {
            using var dir = new TempDirectory();
            long share = Math.Max(10_000, (long)(events * config.Share));
            output.WriteLine($"{config}: {share:N0} events");
            StressRunResult result = new HostStress(config, seed, producers, share, dir.Path, hangGuard, output.WriteLine).Run();
            tally.Runs.Add(result);
            output.WriteLine($"    {result.Accepted:N0} events ({result.Rejected:N0} rejected), {result.Segments} segments, {result.Rotations} rotations, {result.Elapsed.TotalSeconds:F1} s; live: tailer {result.TailerEvents:N0}, {result.Recoveries} recoveries ({result.RecoveryEvents:N0} events), {result.Scans} scans, {result.Verifications} verifications");
            output.WriteLine($"    peaks: {result.Peaks}");
            output.WriteLine($"    bounds: {result.Bounds}");
            foreach (string failure in result.Failures)
            {
                output.WriteLine($"    FAILED: {failure}");
            }

            Write(tally.Failures == 0 ? "in progress" : "FAILED, in progress");
        }

        output.WriteLine(tally.ToString());
        Write(tally.Failures == 0 ? "finished: no failure" : "FAILED");
        Assert.True(tally.Failures == 0 && tally.Violations == 0, $"stress set failed (seed {seed}; replay: {replay}; FLASHWAL_STRESS_CONFIGS=<name> runs one configuration):\n{string.Join("\n", tally.Runs.SelectMany(r => r.Failures.Select(f => $"[{r.Config.Name}] {f}")).Take(40))}");
        Assert.True(tally.Runs.Count > 0, $"no configuration named '{only}'");
    }

    private static long Env(string name, long fallback) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : fallback;

    private static int Env(string name, int fallback) => (int)Env(name, (long)fallback);
}
