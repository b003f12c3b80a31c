using System.Globalization;
using FlashWal.Tests.Support;
using Xunit.Abstractions;

namespace FlashWal.Tests.Drills;

/// <summary>
/// The crash drill's quick set (25 SIGKILLs, in CI). The long set is the same test with more kills:
/// <c>FLASHWAL_DRILL_KILLS=500 FLASHWAL_DRILL_RESULTS=docs/results/crash-drill.txt dotnet test tests/Unit -c Release --filter Category=CrashDrill</c>
/// (FLASHWAL_DRILL_SEED repeats a run; the seed is printed with every failure).
/// </summary>
[Trait("Category", "CrashDrill")]
public sealed class CrashDrillTests(ITestOutputHelper output)
{
    [LinuxFact("SIGKILLs recorder processes and relies on flock being released by the kernel")]
    public void Crash_drill_kills_recorders_at_random_moments_and_loses_nothing_reported_durable()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("FLASHWAL_DRILL_KILLS"), NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : 25;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("FLASHWAL_DRILL_SEED"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s) ? s : Environment.TickCount & int.MaxValue;
        string? results = Environment.GetEnvironmentVariable("FLASHWAL_DRILL_RESULTS");
        using var dir = new TempDirectory();
        void Write(DrillTally tally, string state)
        {
            if (!string.IsNullOrEmpty(results))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(results))!);
                File.WriteAllText(results, $"FlashWal crash drill ({state}; {kills} kills asked), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores\n{tally}");
            }
        }

        var drill = new CrashDrill(dir.Path, seed, output.WriteLine) { Progress = t => Write(t, "in progress") };
        output.WriteLine($"crash drill: {kills} kills, seed {seed}");
        try
        {
            drill.Run(kills);
        }
        finally
        {
            output.WriteLine(drill.Tally.ToString());
            Write(drill.Tally, drill.Tally.Losses == 0 && drill.Tally.Kills == kills ? "finished" : "FAILED");
        }

        Assert.Equal(kills, drill.Tally.Kills);
        Assert.Equal(0, drill.Tally.Losses);
        Assert.True(drill.Tally.EventsChecked > 0);
    }
}
