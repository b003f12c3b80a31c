using System.Diagnostics;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Bench;

/// <summary>
/// <c>neighbour</c>: the paced 1M events/s append run with threads placed as a trading user places them
/// (the appending thread pinned to the last core; FlashWal's background threads on the other cores,
/// nice 10), once on a quiet machine and once beside a busy neighbour: another process spinning on the
/// first core, which is what users see on a shared box. FasterLog's and FileStream's own threads stay
/// where the runtime puts them (they offer no placement); the appending thread is pinned for every system.
/// </summary>
internal static class NeighbourScenario
{
    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "neighbour", LatencyPlotTitle = "append latency, 64 B at 1M events/s, beside a busy neighbour" };
        IReadOnlyList<int> cores = ThreadPlacement.AllowedCores();
        if (!OperatingSystem.IsLinux() || cores.Count < 2)
        {
            result.Notes.Add($"Skipped: needs Linux and at least 2 cores (this machine: {cores.Count}).");
            return result;
        }

        int writerCore = cores[^1];
        int neighbourCore = cores[0];
        var background = new ThreadPlacement { Cores = [.. cores.Where(c => c != writerCore)], Nice = 10 };
        SystemSpec placed = SystemSpec.FlashWal(name: "FlashWal (placed)", background: background);
        SystemSpec[] specs = Systems.Only([placed, SystemSpec.Faster(), SystemSpec.Tsavorite(), SystemSpec.FileStream()]);
        int repetitions = quick ? 1 : 5;
        (int rate, long segment, int events) = quick ? (1_000_000, 256L << 10, 100_000) : (1_000_000, 4L << 20, 2_000_000);
        result.Method =
            $"64-byte payloads paced at {rate:N0}/s, {events:N0} a run, segments of {segment >> 10} KiB, commit every {AppendLatencyScenario.CommitEvery} events outside the timed append; " +
            $"{repetitions} measured repetitions after one discarded warm-up, systems and conditions interleaved. The appending thread is pinned to core {writerCore} for every system; " +
            $"FlashWal's preparer, flusher and maintainer run on {background}. Busy neighbour: a child process spinning on core {neighbourCore} (nice 0) for the whole run of each system.";
        result.Settings["systems"] = Systems.Describe(specs);
        byte[] payload = new byte[64];
        Random.Shared.NextBytes(payload);
        var conditions = new[] { "quiet", "busy neighbour" };
        var all = conditions.ToDictionary(c => c, _ => specs.ToDictionary(s => s.Name, _ => new LatencyHistogram()));
        var late = conditions.ToDictionary(c => c, _ => specs.ToDictionary(s => s.Name, _ => new List<double>()));
        var before = ThreadPlacement.OfCurrentThread();
        new ThreadPlacement { Cores = [writerCore] }.ApplyToCurrentThread();
        try
        {
            for (int rep = -1; rep < repetitions; rep++)
            {
                foreach (string condition in conditions)
                {
                    foreach (SystemSpec spec in specs)
                    {
                        using Process? neighbour = condition == "quiet" ? null : Spinner.Start(neighbourCore);
                        var histogram = rep >= 0 ? all[condition][spec.Name] : new LatencyHistogram();
                        AppendLatencyScenario.RunResult r = AppendLatencyScenario.RunPaced(spec, segment, events, rate, payload, histogram, new LatencyHistogram());
                        Stats.Record(late[condition], spec.Name, rep, r.MaxLateUs);
                        Spinner.Stop(neighbour);
                    }
                }
            }
        }
        finally
        {
            new ThreadPlacement { Cores = before.Cores }.ApplyToCurrentThread();
        }

        foreach (string condition in conditions)
        {
            var table = new ResultTable($"{condition}: every append (ns)", ["system", .. LatencySeries.Headers, "max behind schedule (µs)"], []);
            foreach (SystemSpec spec in specs)
            {
                LatencySeries s = LatencySeries.From(spec.Name, all[condition][spec.Name].Snapshot());
                table.Rows.Add([spec.Name, .. s.Cells(), Stats.F(Stats.Median(late[condition][spec.Name]), 0)]);
                result.Latencies.Add(s with { Label = $"{spec.Name}, {condition}" });
            }

            result.Tables.Add(table);
        }

        if (specs[0] == placed)
        {
            LatencySnapshot fw = all["busy neighbour"][placed.Name].Snapshot();
            foreach (string peer in Systems.Peers(specs))
            {
                LatencySnapshot fl = all["busy neighbour"][peer].Snapshot();
                (string Name, long Flash, long Peer)[] percentiles =
                    [("p50", fw.P50, fl.P50), ("p90", fw.P90, fl.P90), ("p99", fw.P99, fl.P99), ("p99.9", fw.P999, fl.P999), ("p99.99", fw.P9999, fl.P9999), ("max", fw.Max, fl.Max)];
                string[] worse = [.. percentiles.Where(p => p.Flash > p.Peer).Select(p => $"{p.Name} {p.Flash:N0} > {p.Peer:N0}")];
                result.Goals.Add($"With a busy neighbour, no FlashWal percentile worse than {peer}'s: {(worse.Length == 0 ? "met" : "missed (" + string.Join(", ", worse) + ")")}");
            }
        }

        return result;
    }

    /// <summary>A child process (this program, argument <c>spin</c>) that pins itself to a core and spins until killed.</summary>
    internal static class Spinner
    {
        public static Process Start(int core)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                start.ArgumentList.Add(typeof(NeighbourScenario).Assembly.Location);
            }

            start.ArgumentList.Add("spin");
            start.ArgumentList.Add(core.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Process process = Process.Start(start) ?? throw new InvalidOperationException("The busy neighbour did not start.");
            Thread.Sleep(100); // running and pinned before the measurement starts
            return process;
        }

        public static void Stop(Process? process)
        {
            if (process is { HasExited: false })
            {
                process.Kill();
                process.WaitForExit();
            }
        }

        /// <summary>The child's body: pin, then spin forever.</summary>
        public static int Spin(int core)
        {
            new ThreadPlacement { Cores = [core] }.ApplyToCurrentThread();
            long x = 0;
            while (true)
            {
                x = unchecked(x * 6364136223846793005 + 1442695040888963407);
                if (x == 42)
                {
                    return 0; // never: keeps the loop from being removed
                }
            }
        }
    }
}
