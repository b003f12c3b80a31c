using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The power-cut fuzzer (issue 14), in the spirit of TigerBeetle's VOPR and FoundationDB's simulation
/// tests: seeded cases drive recorders through every durability policy, tiny segments, compression,
/// retention, the host and process kills on a <see cref="SimulatedDisk"/>, cut the power at random
/// operations under every <see cref="PowerCutModel"/>, and check each cut state and a restart after it
/// (<see cref="PowerCutCheck"/>, <see cref="PowerCutFuzz"/>).
/// </summary>
/// <remarks>
/// Quick set (CI): at least 2,000 cuts, <c>dotnet test tests/Unit -c Release --filter Category=PowerCut</c>.
/// Long set: <c>FLASHWAL_POWERCUT_CUTS=100000</c> (and <c>FLASHWAL_POWERCUT_SEED</c>, default 20261121;
/// <c>FLASHWAL_POWERCUT_RESULTS</c> names a file for the tally). A failure prints, per class, the one
/// command that replays a case of it: <c>FLASHWAL_POWERCUT_REPLAY=seed:index</c> with
/// <see cref="Replay_one_case"/> (the engine's threads make a case's timing vary: <c>FLASHWAL_POWERCUT_REPEAT</c>
/// runs it that many times, <c>FLASHWAL_POWERCUT_KEEP</c> keeps the failed cut states in a folder).
/// </remarks>
[Trait("Category", "PowerCut")]
public sealed class PowerCutFuzzTests(ITestOutputHelper output)
{
    private const int QuickCuts = 2000;
    private const int DefaultSeed = 20261121;

    [Fact]
    public void Power_cuts_at_random_points_lose_nothing_reported_durable_and_need_no_repair()
    {
        int cuts = Number("FLASHWAL_POWERCUT_CUTS") ?? QuickCuts;
        int seed = Number("FLASHWAL_POWERCUT_SEED") ?? DefaultSeed;
        string? results = Environment.GetEnvironmentVariable("FLASHWAL_POWERCUT_RESULTS");
        var tally = new PowerCutTally(seed);
        var clock = Stopwatch.StartNew();
        using (var scratch = new ScratchDirectory())
        {
            var fuzz = new PowerCutFuzz(scratch.Path, tally);
            for (int index = 0; tally.Cuts < cuts; index++)
            {
                fuzz.RunBounded(seed, index);
                tally.Elapsed = clock.Elapsed;
                if (!string.IsNullOrEmpty(results) && index % 50 == 0)
                {
                    Write(results, tally, cuts, "in progress");
                }
            }
        }

        tally.Elapsed = clock.Elapsed;
        output.WriteLine(tally.ToString());
        output.WriteLine(tally.Report());
        if (!string.IsNullOrEmpty(results))
        {
            Write(results, tally, cuts, tally.Failures == 0 ? "finished" : "FAILED");
        }

        Assert.True(tally.DurableEventsChecked > 0, "no event reported durable was ever checked");
        Assert.True(tally.Failures == 0, $"{tally}\n{tally.Report()}");
    }

    /// <summary>Runs the case <c>FLASHWAL_POWERCUT_REPLAY=seed:index</c> names (by default case 0 of the default seed) alone.</summary>
    [Fact]
    public void Replay_one_case()
    {
        string[] named = (Environment.GetEnvironmentVariable("FLASHWAL_POWERCUT_REPLAY") ?? $"{DefaultSeed}:0").Split(':');
        int seed = int.Parse(named[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int index = int.Parse(named[1], NumberStyles.None, CultureInfo.InvariantCulture);
        int repeat = Math.Max(1, Number("FLASHWAL_POWERCUT_REPEAT") ?? 1);
        var tally = new PowerCutTally(seed);
        output.WriteLine($"case {index} of seed {seed}: {PowerCutCase.Draw(seed, index)}");
        using (var scratch = new ScratchDirectory())
        {
            var fuzz = new PowerCutFuzz(scratch.Path, tally);
            for (int i = 0; i < repeat; i++)
            {
                fuzz.RunBounded(seed, index);
            }
        }

        output.WriteLine(tally.ToString());
        Assert.True(tally.Cuts > 0, "the case took no cut");
        Assert.True(tally.Failures == 0, $"{tally}\n{tally.Report(failures: 1000)}");
    }

    private static int? Number(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : null;

    private static void Write(string path, PowerCutTally tally, int cuts, string state)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, $"FlashWal power-cut fuzzer ({state}; {cuts} cuts asked), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n{tally}\n{tally.Report(failures: 10)}");
    }
}
