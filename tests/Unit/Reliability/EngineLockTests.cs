using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>Two writers on one directory: the second is refused, however the path is spelled, and the first's data is intact.</summary>
public class EngineLockTests
{
    public static TheoryData<string> Spellings => new() { "same", "trailing slash", "dot-dot", "dot", "symlink", "relative" };

    [Fact]
    public void The_holder_is_named_by_the_kernel_from_the_moment_it_takes_the_lock_before_it_writes_wal_owner()
    {
        using var temp = new TempDirectory();
        string wal = temp.Sub("wal");
        Directory.CreateDirectory(wal);
        string owner = Path.Combine(wal, DirectoryLock.OwnerFileName);
        File.WriteAllText(owner, "pid=2147483000 host=gone since=2026-01-01T00:00:00Z\n"); // a previous holder's
        using (DirectoryLock.Acquire(wal))
        {
            Assert.Equal(Environment.ProcessId, DirectoryLock.ReadOwner(wal));
            Assert.Equal("pid=2147483000 host=gone since=2026-01-01T00:00:00Z\n", File.ReadAllText(owner)); // taking the lock wrote nothing
        }

        // Nobody holds it: only the file can say (a holder on another machine of a shared file system).
        Assert.Equal(2147483000, DirectoryLock.ReadOwner(wal));
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public void A_second_recorder_is_refused_however_the_directory_is_spelled(string spelling)
    {
        using var temp = new TempDirectory();
        string wal = temp.Sub("wal");
        BadInput.Write(wal, 15);
        string other = Spell(temp, wal, spelling);
        using (WalRecorder first = WalRecorder.Open(wal, BadInput.Tiny))
        {
            for (long id = 16; id <= 40; id++)
            {
                first.Append(BadInput.Payload(id), (ushort)(id % 7));
            }

            first.Commit();
            string named = Path.GetFullPath(other);
            var e = BadInput.Fails<WalDirectoryLockedException>(() => WalRecorder.Open(other, BadInput.Tiny), named, "WalDirectoryLocked",
                "being written by another recorder", $"process {Environment.ProcessId}");
            Assert.Equal(Environment.ProcessId, e.OwnerProcessId);
            BadInput.Fails<WalDirectoryLockedException>(() => WalRecorderHost.Start(other, new WalRecorderHostOptions { Recorder = BadInput.Tiny }), named, "WalDirectoryLocked");
            BadInput.Fails<WalDirectoryLockedException>(() => WalRepair.Plan(other), named, "WalDirectoryLocked");

            // The first goes on as if nothing happened.
            for (long id = 41; id <= 60; id++)
            {
                first.Append(BadInput.Payload(id), (ushort)(id % 7));
            }
        }

        BadInput.AssertHolds(wal, 60);
    }

    [Fact]
    public void A_repair_planned_before_a_recorder_started_is_refused_when_applied()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        RepairPlan plan = WalRepair.Plan(temp.Path);
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            recorder.Append(BadInput.Payload(21), 0);
            BadInput.Fails<WalDirectoryLockedException>(() => plan.Apply(), temp.Path, "WalDirectoryLocked", "being written by another recorder");
        }

        Assert.Equal(21, WalCatalog.Open(temp.Path).LastEventId);
    }

    [Fact]
    public void A_host_holding_the_directory_refuses_a_recorder()
    {
        using var temp = new TempDirectory();
        using (WalRecorderHost host = WalRecorderHost.Start(temp.Path, new WalRecorderHostOptions { Recorder = BadInput.Tiny }))
        {
            for (long id = 1; id <= 30; id++)
            {
                host.Submit(BadInput.Payload(id), (ushort)(id % 7));
            }

            BadInput.Fails<WalDirectoryLockedException>(() => WalRecorder.Open(temp.Path, BadInput.Tiny), temp.Path, "WalDirectoryLocked");
        }

        BadInput.AssertHolds(temp.Path, 30);
    }

    [Fact]
    public async Task A_recorder_in_another_process_is_named_by_its_process_id_and_keeps_its_data()
    {
        using var temp = new TempDirectory();
        string wal = temp.File("wal");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "flashwal.dll"), "record", wal, "--events", "3000", "--rate", "2000",
            "--payload-size", "48", "--segment-size", "64KiB", "--block-size", "4KiB", "--report-durable",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException("the recorder did not start");
        Task<string> output = child.StandardOutput.ReadToEndAsync();
        Task<string> errors = child.StandardError.ReadToEndAsync();

        // Wait until it holds the directory (its runtime starts in a few hundred milliseconds; it records for 1.5 s).
        var waited = Stopwatch.StartNew();
        while (!LiveLog.IsWriterPresent(wal) && !child.HasExited && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(5);
        }

        Assert.False(child.HasExited, "the child ended before the check");
        var e = BadInput.Fails<WalDirectoryLockedException>(() => WalRecorder.Open(wal, BadInput.Tiny), wal, "WalDirectoryLocked", $"process {child.Id}");
        Assert.Equal(child.Id, e.OwnerProcessId);
        BadInput.Fails<WalDirectoryLockedException>(() => WalRepair.Plan(wal), wal, "WalDirectoryLocked", $"process {child.Id}");
        Assert.False(child.HasExited, "the child ended during the check, which proves nothing");
        await child.WaitForExitAsync();
        Assert.True(child.ExitCode == 0, await errors);
        long durable = (await output).Split('\n').Where(l => l.StartsWith("durable ", StringComparison.Ordinal)).Select(l => long.Parse(l.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture)).LastOrDefault();

        long last = WalCatalog.Open(wal).LastEventId;
        Assert.Equal(3000, last);
        Assert.True(last >= durable, $"{last} < {durable}");
        BadInput.AssertHolds(wal, last, id => Wal.Payload(id, 48));
    }

    private static string Spell(TempDirectory temp, string wal, string spelling)
    {
        switch (spelling)
        {
            case "same":
                return wal;
            case "trailing slash":
                return wal + Path.DirectorySeparatorChar;
            case "dot-dot":
                return Path.Combine(temp.Sub("elsewhere"), "..", "wal");
            case "dot":
                return Path.Combine(wal, ".");
            case "symlink":
                string link = temp.File("link-to-wal");
                Directory.CreateSymbolicLink(link, wal);
                return link;
            case "relative":
                return Path.GetRelativePath(Environment.CurrentDirectory, wal);
            default:
                throw new ArgumentOutOfRangeException(nameof(spelling), spelling, null);
        }
    }
}
