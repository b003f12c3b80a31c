using FlashWal.Errors;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using Xunit.Abstractions;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// What the fuzzers share: the loop over one seed's cases (scaled by <c>FLASHWAL_FUZZ_SCALE</c> for a
/// longer hunt), the tally printed with it, and each case bounded in time, so that a hang or an
/// unhandled exception fails that case, named, instead of the run.
/// </summary>
internal static class FuzzRun
{
    /// <summary>How long one case may take before it counts as a hang.</summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Runs cases 0..<paramref name="cases"/> (times <c>FLASHWAL_FUZZ_SCALE</c> when it is above 1) of
    /// <paramref name="seed"/> through <paramref name="runCase"/> (index, tally → failure or null),
    /// prints the tally and fails listing the failed cases.
    /// </summary>
    public static void Seed(ITestOutputHelper output, int seed, int cases, Func<int, Dictionary<string, int>, string?> runCase)
    {
        cases *= int.TryParse(Environment.GetEnvironmentVariable("FLASHWAL_FUZZ_SCALE"), out int scale) && scale > 1 ? scale : 1;
        var failures = new List<string>();
        var tally = new Dictionary<string, int>();
        for (int i = 0; i < cases; i++)
        {
            if (runCase(i, tally) is { } failure)
            {
                failures.Add(failure);
            }
        }

        output.WriteLine($"seed {seed}: {cases} cases: {string.Join(", ", tally.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed (seed {seed}):\n{string.Join("\n", failures.Take(60))}");
    }

    /// <summary>
    /// Runs <paramref name="check"/> on a worker thread for at most <see cref="CaseTimeout"/>: null when
    /// it found nothing wrong, else what it found, that it did not finish, or what it threw, each after
    /// <paramref name="what"/> (read once the case has ended: the check may add to it).
    /// </summary>
    public static string? Bounded(Func<string?> check, Func<string> what)
    {
        var task = Task.Run(check);
        try
        {
            if (!task.Wait(CaseTimeout))
            {
                return $"{what()}: did not finish within {CaseTimeout}";
            }
        }
        catch (AggregateException e)
        {
            return $"{what()}: unhandled {e.InnerException}";
        }

        return task.Result is { } problem ? $"{what()}: {problem}" : null;
    }

    /// <summary>
    /// Replays <paramref name="strict"/> from the first event into <paramref name="ids"/>: null when it
    /// ran to the end, else the failure it stopped at.
    /// </summary>
    public static WalCorruptionException? ReplayStrict(WalRecovery strict, List<long> ids)
    {
        try
        {
            if (strict.ResumeFrom(1))
            {
                WalRecoveryTests.Drain(strict, ids);
            }

            return null;
        }
        catch (WalCorruptionException e)
        {
            return e;
        }
    }

    /// <summary>
    /// The seed of case <paramref name="index"/> of <paramref name="seed"/> for fuzzer
    /// <paramref name="fuzzer"/>: the same in every process (a SplitMix64 step), so that the seed and
    /// case a failure names replay it. (HashCode.Combine, used before, is seeded anew per process.)
    /// </summary>
    public static int CaseSeed(int seed, int index, int fuzzer)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + ((ulong)(uint)fuzzer + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    /// <summary>Adds one to <paramref name="key"/>'s count (cases run on worker threads).</summary>
    public static void Count(Dictionary<string, int> tally, string key)
    {
        lock (tally)
        {
            tally[key] = tally.GetValueOrDefault(key) + 1;
        }
    }
}
