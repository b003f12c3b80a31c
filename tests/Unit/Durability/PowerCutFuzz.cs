using System.Globalization;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Runs power-cut fuzz cases: a recorder (or host) on a <see cref="SimulatedDisk"/> with cuts scheduled
/// at random operations and one at the end; every cut is checked (<see cref="PowerCutCheck"/>), then
/// continued: a recorder opens the cut state on a second simulated disk (check (d)), records more, and
/// its own cuts are checked the same way, the first run's durable ids included.
/// </summary>
/// <remarks>
/// After a failed sync the case does not restart on the same disk: a recorder opened then (same boot)
/// would read the dropped pages from the page cache, sync nothing and call them durable, which no file
/// system call can reveal; the restart after a <see cref="PowerCutModel.FailSync"/> cut is the one that
/// follows the power cut.
/// </remarks>
internal sealed class PowerCutFuzz(string scratch, PowerCutTally tally)
{
    /// <summary>How long one case may take before it counts as a hang.</summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(120);

    private const string WalName = "wal";

    /// <summary>When set (a folder), every cut state is copied there before it is checked, and the copies of the cuts that failed are kept.</summary>
    private static readonly string? Keep = Environment.GetEnvironmentVariable("FLASHWAL_POWERCUT_KEEP");

    public static string ReplayCommand(int seed, int index) => string.Create(CultureInfo.InvariantCulture,
        $"FLASHWAL_POWERCUT_REPLAY={seed}:{index} dotnet test tests/Unit -c Release --filter \"FullyQualifiedName~PowerCutFuzzTests.Replay_one_case\"");

    /// <summary>Runs case <paramref name="index"/> of <paramref name="seed"/> within <see cref="CaseTimeout"/>; its failures go to the tally.</summary>
    public void RunBounded(int seed, int index)
    {
        string replay = ReplayCommand(seed, index);
        PowerCutCase config = PowerCutCase.Draw(seed, index);
        var task = Task.Run(() => Run(config, replay));
        try
        {
            if (!task.Wait(CaseTimeout))
            {
                tally.Failure("case:Timeout", replay, $"case {index} ({config}) did not finish within {CaseTimeout}");
            }
        }
        catch (AggregateException e)
        {
            tally.Failure($"case:{e.InnerException?.GetType().Name}", replay, $"case {index} ({config}): unhandled {e.InnerException}");
        }

        tally.CaseDone();
    }

    private void Run(PowerCutCase config, string replay)
    {
        string dir = Path.Combine(scratch, string.Create(CultureInfo.InvariantCulture, $"case{config.Index:D6}"));
        try
        {
            RunFirst(config, dir, replay);
        }
        finally
        {
            ScratchDirectory.Delete(dir);
        }
    }

    private void RunFirst(PowerCutCase config, string dir, string replay)
    {
        var random = new Random(config.CaseSeed ^ 0x5BD1E995);
        string root = Path.Combine(dir, "run");
        Directory.CreateDirectory(root);
        var reported = new ReportedDurable();
        var retention = new RetentionLog();
        var disk = new SimulatedDisk(root, new SimulatedDiskOptions
        {
            CutsDirectory = Path.Combine(dir, "cuts"),
            Seed = config.CaseSeed,
            FailSync = config.FailSyncAt > 0 ? call => call.Number == config.FailSyncAt : null,
            ReportedDurable = reported.Read,
            Observe = retention.Observe,
            SlowSyncOneIn = 4,
            FailedSyncLatency = TimeSpan.FromMilliseconds(2),
        });
        long at = 0;
        for (int k = 0; k < config.Cuts; k++)
        {
            at += random.Next(1, 2 * config.MeanGap + 1);
            disk.ScheduleCut(at, Model(config, random));
        }

        var ledger = new EventLedger();
        var run = new PowerCutRun(config, Path.Combine(root, WalName), disk, reported, ledger, epoch: 1, random);
        string where = $"case {config.Index} ({config})";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (run.Start())
        {
            run.Record(config.Events, config.KillAfter);
        }
        else if (disk.FailedSyncs.Count == 0)
        {
            tally.Failure($"run:open {run.OpenFailure!.GetType().Name}", replay, $"{where}: the first open of a new directory failed: {run.OpenFailure}");
        }

        run.End(Model(config, random), config.EndCutAfterClose);
        if (disk.FailedSyncs.Count > 0)
        {
            where += $", failed {string.Join("; ", disk.FailedSyncs)}";
        }

        tally.Count("ms in first runs", clock.ElapsedMilliseconds);
        tally.Count("disk operations in first runs", disk.Operations);
        tally.Count("process kills and reopens", run.Kills);
        tally.Count("syncs failed (EIO injected)", disk.FailedSyncs.Count);
        tally.Count("host cases", config.UsesHost ? 1 : 0);
        foreach ((string code, string problem) in run.Problems)
        {
            tally.Failure($"run:{code}", replay, $"{where}: {problem}", writeSide: code == "KillReusesCommittedId");
        }

        foreach (string error in disk.CutErrors)
        {
            tally.Failure("model:CutError", replay, $"{where}: {error}");
        }

        foreach (PowerCut cut in disk.Cuts)
        {
            CheckAndContinue(config, dir, cut, ledger, retention.DeletedThrough(cut.AfterOperations), random, $"{where}, {cut}", replay);
            ScratchDirectory.Delete(cut.Root);
        }
    }

    /// <summary>Checks a first-run cut, reopens it on a second disk (check (d)), records more and checks the second run's cuts.</summary>
    private void CheckAndContinue(PowerCutCase config, string dir, PowerCut cut, EventLedger ledger, long deletedThrough, Random random, string what, string replay)
    {
        string wal = Path.Combine(cut.Root, WalName);
        string? kept = KeepCopy(cut.Root, config, $"cut{cut.Number}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        CutVerdict verdict = PowerCutCheck.Log(wal, cut.ReportedDurable, ledger, deletedThrough, config.CaseSeed);
        Untracked(cut, verdict);
        tally.Count("ms checking", clock.ElapsedMilliseconds);
        clock.Restart();

        var reported = new ReportedDurable(cut.ReportedDurable);
        var retention = new RetentionLog();
        var disk = new SimulatedDisk(cut.Root, new SimulatedDiskOptions
        {
            CutsDirectory = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"cuts-{cut.Number}")),
            Seed = config.CaseSeed + cut.Number,
            ReportedDurable = reported.Read,
            Observe = retention.Observe,
            SlowSyncOneIn = 4,
            FailedSyncLatency = TimeSpan.FromMilliseconds(2),
        });
        long at = 0;
        for (int k = 0; k < 2; k++)
        {
            at += random.Next(1, 2 * config.MeanGap + 1);
            disk.ScheduleCut(at, Model(config with { FailSyncAt = 0 }, random));
        }

        var continued = new EventLedger(verdict.Events);
        var run = new PowerCutRun(config, wal, disk, reported, continued, epoch: 1000 * cut.Number, random);
        bool opened = run.Start();
        PowerCutCheck.Open(verdict, cut.ReportedDurable, run.FirstId, run.OpenFailure, run.OpenFindings);
        tally.Cut(cut, 1, verdict, replay, what + (kept is null ? "" : $" [state kept in {kept}]"));
        Forget(kept, verdict);
        if (!verdict.Passed)
        {
            if (opened)
            {
                run.End(PowerCutModel.Plain, afterClose: true); // only to close it: a restart of a failed cut is not checked
            }

            tally.Count("restarts not checked (their cut failed)");
            return;
        }

        run.Record(config.SecondRunEvents, killAfter: 0);
        run.End(Model(config with { FailSyncAt = 0 }, random), afterClose: random.Next(2) == 0);
        tally.Count("ms in restarts", clock.ElapsedMilliseconds);
        clock.Restart();
        foreach ((string code, string problem) in run.Problems)
        {
            tally.Failure($"run:restart {code}", replay, $"{what}, the restart: {problem}");
        }

        foreach (PowerCut second in disk.Cuts)
        {
            string secondWal = Path.Combine(second.Root, WalName);
            string? keptSecond = KeepCopy(second.Root, config, $"cut{cut.Number}-{second.Number}");
            CutVerdict after = PowerCutCheck.Log(secondWal, second.ReportedDurable, continued, retention.DeletedThrough(second.AfterOperations), config.CaseSeed);
            Untracked(second, after);
            (long firstId, Exception? failure, IReadOnlyList<FlashWal.Format.Finding> findings) = PowerCutCheck.OpenPlain(secondWal, config.SegmentSize);
            PowerCutCheck.Open(after, second.ReportedDurable, firstId, failure, findings);
            tally.Cut(second, 2, after, replay, $"{what}, restarted with {continued.Appended} events, then {second}{(keptSecond is null ? "" : $" [state kept in {keptSecond}]")}");
            Forget(keptSecond, after);
            ScratchDirectory.Delete(second.Root);
        }

        tally.Count("ms checking", clock.ElapsedMilliseconds);
    }

    private static string? KeepCopy(string root, PowerCutCase config, string name)
    {
        if (string.IsNullOrEmpty(Keep))
        {
            return null;
        }

        string copy = Path.Combine(Path.GetFullPath(Keep), string.Create(CultureInfo.InvariantCulture, $"{config.Seed}-{config.Index}-{name}"));
        ScratchDirectory.Delete(copy);
        foreach (string file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        return copy;
    }

    private static void Forget(string? kept, CutVerdict verdict)
    {
        if (kept is not null && verdict.Passed)
        {
            ScratchDirectory.Delete(kept);
        }
    }

    private static void Untracked(PowerCut cut, CutVerdict verdict)
    {
        if (cut.Untracked.Count > 0)
        {
            verdict.Problems.Add(new CutProblem("model", "UntrackedFile", $"the engine changed {string.Join(", ", cut.Untracked.Select(Path.GetFileName))} without the storage layer: the model cannot say what of it is durable"));
        }
    }

    /// <summary>A cut's model: the failed-sync model in a case that injects one, else plain, strict or writeback.</summary>
    private static PowerCutModel Model(PowerCutCase config, Random random) =>
        config.FailSyncAt > 0 ? PowerCutModel.FailSync : (PowerCutModel)random.Next(3);
}
