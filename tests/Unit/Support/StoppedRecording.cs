using System.Globalization;
using System.Text.RegularExpressions;
using FlashWal.Cli;
using FlashWal.Reading;
using FlashWal.Recovery;

namespace FlashWal.Tests.Support;

/// <summary>
/// What <c>flashwal record</c> printed when a sync failed, and what the log it left holds: shared by
/// the in-process tests (a disk whose syncs fail) and the real-kernel ones (strace injecting EIO).
/// </summary>
internal static partial class StoppedRecording
{
    /// <summary>The ids of the <c>durable N</c> lines of <paramref name="stdout"/>, in order; fails on any other line that claims something.</summary>
    public static List<long> DurableIds(string stdout)
    {
        var ids = new List<long>();
        foreach (string line in Lines(stdout))
        {
            Match m = DurableLine().Match(line);
            Assert.True(m.Success, $"stdout of a stopped recording holds only 'durable N' lines, not '{line}'");
            ids.Add(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }

        for (int i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i] > ids[i - 1], $"durable ids must increase: {string.Join(", ", ids)}");
        }

        return ids;
    }

    /// <summary>
    /// Asserts that <paramref name="stderr"/> is exactly two lines, the failure matching
    /// <paramref name="failure"/> and then the recording-stopped line for <paramref name="directory"/>
    /// with no stack trace; returns the failure line and the last committed id the stopped line gives.
    /// </summary>
    public static (string Failure, long Committed) AssertStopped(string stderr, string directory, Regex failure)
    {
        string[] lines = Lines(stderr);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
        Assert.True(lines.Length == 2, $"two lines on stderr, the failure and where recording stopped; got:\n{stderr}");
        Assert.Matches(failure, lines[0]);
        Assert.DoesNotContain(".tmp'", lines[0], StringComparison.Ordinal); // the segment's name, not the one it was created under
        Match stopped = StoppedLine().Match(lines[1]);
        Assert.True(stopped.Success, $"the recording-stopped line, not '{lines[1]}'");
        Assert.Equal(directory, stopped.Groups[3].Value);
        Assert.Equal(stopped.Groups[2].Value, stopped.Groups[4].Value);
        Assert.Equal("1", stopped.Groups[1].Value); // a new log: the run's first event is 1
        return (lines[0], long.Parse(stopped.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Replays <paramref name="directory"/> strictly from event 1: it must be complete, every id from 1
    /// on, each payload the one <c>record</c> derives from its id. Returns the last id.
    /// </summary>
    public static long ReplayStrict(string directory)
    {
        using WalRecovery strict = WalRecovery.Open(directory);
        long expected = 1;
        if (strict.ResumeFrom(1))
        {
            while (strict.TryReadNext(out WalEvent e))
            {
                Assert.Equal(expected, e.EventId);
                Assert.True(SyntheticEvents.Matches(e.EventId, e.Payload), $"event {e.EventId}'s payload");
                expected++;
            }
        }

        RecoveryReport report = strict.Report;
        Assert.True(report.IsComplete, $"strict recovery of {directory}: {report.Outcome}; {string.Join("; ", report.Damage)}; {string.Join("; ", report.Gaps)}");
        return expected - 1;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [GeneratedRegex(@"^durable (\d+)$")]
    private static partial Regex DurableLine();

    [GeneratedRegex(@"^flashwal: recording stopped: events (\d+)\.\.(\d+) of this run are committed in (.+), none after (\d+); 'flashwal verify' checks them$")]
    private static partial Regex StoppedLine();
}
