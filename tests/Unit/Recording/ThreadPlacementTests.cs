using System.Globalization;
using FlashWal.Recording;
using FlashWal.Tests.Support;
using FlashWal.Threading;

namespace FlashWal.Tests.Recording;

/// <summary>
/// Pinning and niceness of the writer and background threads, read back from the kernel
/// (<c>/proc/self/task/*/status</c> and <c>stat</c>), not from what FlashWal says it did.
/// </summary>
[Collection(RunsAlone.Name)] // finds the recorder's threads by name among the process's
public sealed class ThreadPlacementTests
{
    private static int LastCore => ThreadPlacement.AllowedCores()[^1];

    [LinuxFact("sched_setaffinity and setpriority are Linux calls")]
    public void A_placement_applied_to_a_thread_is_what_the_kernel_reports_for_it()
    {
        (IReadOnlyList<int> Cores, int Nice) seen = default;
        var thread = new Thread(() =>
        {
            new ThreadPlacement { Cores = [LastCore], Nice = 7 }.ApplyToCurrentThread();
            seen = ThreadPlacement.OfCurrentThread();
        });
        thread.Start();
        thread.Join();
        Assert.Equal([LastCore], seen.Cores);
        Assert.Equal(7, seen.Nice);
    }

    [LinuxFact("reads /proc/self/task")]
    public void The_recorders_background_threads_run_where_the_options_say_and_the_writer_is_left_alone()
    {
        using var dir = new TempDirectory();
        (IReadOnlyList<int> callerCores, int callerNice) = ThreadPlacement.OfCurrentThread();
        var placement = new ThreadPlacement { Cores = [LastCore], Nice = 10 };
        using var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { BackgroundThreads = placement });
        recorder.Append([1, 2, 3]);
        recorder.Commit();

        Dictionary<string, (string Cores, int Nice)> threads = FlashWalThreads();
        foreach (string name in new[] { "FlashWal prepar", "FlashWal flushe", "FlashWal mainta" })
        {
            Assert.True(threads.TryGetValue(name, out var found), $"no thread '{name}' among {string.Join(", ", threads.Keys)}");
            Assert.Equal((LastCore.ToString(CultureInfo.InvariantCulture), 10), found);
        }

        Assert.Equal("cores " + LastCore + ", nice 10", recorder.GetTelemetry().BackgroundPlacement);
        (IReadOnlyList<int> cores, int nice) = ThreadPlacement.OfCurrentThread(); // the writer is the caller's thread: untouched
        Assert.Equal(callerCores, cores);
        Assert.Equal(callerNice, nice);
    }

    [LinuxFact("reads /proc/self/task")]
    public void A_hosts_writer_thread_is_pinned_where_its_options_say()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { WriterThread = new ThreadPlacement { Cores = [LastCore] } });
        host.Submit([1], wait: SubmitWait.Committed);
        (string cores, int nice) = Assert.Single(FlashWalThreads(), t => t.Key.StartsWith("FlashWal writer", StringComparison.Ordinal)).Value;
        Assert.Equal((LastCore.ToString(CultureInfo.InvariantCulture), 0), (cores, nice));
    }

    [Fact]
    public void A_core_this_process_cannot_use_or_a_nice_value_out_of_range_is_refused_naming_the_option()
    {
        var core = Assert.Throws<ArgumentOutOfRangeException>(() => new WalRecorderOptions { BackgroundThreads = new ThreadPlacement { Cores = [4096] } }.Validate());
        Assert.Equal("BackgroundThreads.Cores", core.ParamName);
        Assert.Contains("core 4096 is not one this process may run on (allowed: ", core.Message, StringComparison.Ordinal);

        var nice = Assert.Throws<ArgumentOutOfRangeException>(() => new WalRecorderHostOptions { WriterThread = new ThreadPlacement { Nice = -5 } }.Validate());
        Assert.Equal("WriterThread.Nice", nice.ParamName);
        Assert.Contains("from 0 to 19", nice.Message, StringComparison.Ordinal);
    }

    /// <summary>This process's FlashWal threads by name (the kernel keeps 15 characters): their allowed cores and nice value.</summary>
    private static Dictionary<string, (string Cores, int Nice)> FlashWalThreads()
    {
        var threads = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                if (!name.StartsWith("FlashWal", StringComparison.Ordinal))
                {
                    continue;
                }

                string cores = File.ReadAllLines(Path.Combine(task, "status")).Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))["Cpus_allowed_list:".Length..].Trim();
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int nice = int.Parse(fields[16], CultureInfo.InvariantCulture); // field 19 of stat, counted after "(comm) "
                threads[name] = (cores, nice);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // a thread that ended while listing
            }
        }

        return threads;
    }
}
