using System.Diagnostics;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary>The four systems every append scenario compares, in the order they run in each repetition.</summary>
internal static class Systems
{
    /// <summary>The compared systems; FLASHWAL_BENCH_SYSTEMS (names, comma-separated) keeps only some, for profiling one.</summary>
    public static SystemSpec[] Compared() => Only([SystemSpec.FlashWal(), SystemSpec.FlashWal(preparer: false), SystemSpec.Faster(), SystemSpec.Tsavorite(), SystemSpec.FileStream()]);

    /// <summary>The log peers FlashWal's goals are measured against, those of <paramref name="specs"/> that ran.</summary>
    public static string[] Peers(IEnumerable<SystemSpec> specs) => [.. specs.Select(s => s.Name).Where(n => n is "FasterLog" or "TsavoriteLog")];

    public static SystemSpec[] Only(SystemSpec[] specs)
    {
        string? only = Environment.GetEnvironmentVariable("FLASHWAL_BENCH_SYSTEMS");
        if (string.IsNullOrWhiteSpace(only))
        {
            return specs;
        }

        var names = only.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return specs.Where(s => names.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToArray();
    }

    public static string Describe(IEnumerable<SystemSpec> specs) => string.Join("; ", specs.Select(s => $"{s.Name}: {s.Settings}"));
}

/// <summary>
/// <c>append-latency</c>: 64-byte events paced at 1,000,000 and 100,000 per second, every append timed
/// (two Stopwatch reads) into log-linear histograms, the appends that moved to a new segment apart.
/// </summary>
internal static class AppendLatencyScenario
{
    public const int CommitEvery = 1000;

    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "append-latency", LatencyPlotTitle = "append latency, 64 B at 1M events/s" };
        int repetitions = quick ? 1 : 5;
        SystemSpec[] specs = Systems.Only([.. Systems.Compared(), SystemSpec.FlashWalWaitingCommit(), HostFloorSystem.Spec]);
        // (rate, segment size, events): at least 20 rotations for every system (FlashWal stores 88 B a
        // 64-byte event, FasterLog 80 B with its per-entry checksum, FileStream 68 B: FileStream rotates least).
        (int Rate, long Segment, int Events)[] variants = quick
            ? [(1_000_000, 256 << 10, 100_000), (100_000, 128 << 10, 50_000)]
            : [(1_000_000, 4L << 20, 2_000_000), (100_000, 1L << 20, 400_000)];
        result.Method =
            $"64-byte payloads paced at each rate (a spin until each event is due; latency is the append's own service time, not time since it was due). Commit every {CommitEvery} events, outside the timed append: FlashWal RequestCommit (seals; its flusher writes the block), FasterLog and TsavoriteLog Commit(spinWait: false), none of which waits; 'FlashWal (Commit waits)' Commit, which returns once the blocks are in the file (the writer writes what its flusher has not); FileStream Flush(), which writes. " +
            $"{repetitions} measured repetitions after one discarded warm-up, systems interleaved in each; each histogram holds every append of every measured repetition. " +
            "Rotation appends: the appends after which the system's segment number changed (FlashWal ActiveSegmentIndex, FasterLog TailAddress >> SegmentSizeBits, FileStream its own file counter). " +
            "Allocated: GC.GetAllocatedBytesForCurrentThread around the measured loop (the histograms are preallocated) / events. " +
            "Faults: the appending thread's page faults (getrusage RUSAGE_THREAD, minor + major) around the same loop, commits included, per 1000 events. All latencies in ns.";
        result.Settings["systems"] = Systems.Describe(specs);
        result.Settings["FlashWal durability"] = "None (commits seal blocks; the OS writes back; segments are fsynced at close), the same 'no fsync on the hot path' as the baselines' commits";
        byte[] payload = new byte[64];
        Random.Shared.NextBytes(payload);
        HostInterruptions host = Timing.Interruptions(TimeSpan.FromSeconds(quick ? 0.2 : 2));
        result.Settings["host interruptions"] = $"{host} (measured for {(quick ? 0.2 : 2)} s before the runs)";
        foreach ((int rate, long segment, int events) in variants)
        {
            var all = specs.ToDictionary(s => s.Name, _ => new LatencyHistogram());
            var rot = specs.ToDictionary(s => s.Name, _ => new LatencyHistogram());
            var alloc = specs.ToDictionary(s => s.Name, _ => new List<double>());
            var rotations = specs.ToDictionary(s => s.Name, _ => new List<double>());
            var late = specs.ToDictionary(s => s.Name, _ => new List<double>());
            var faults = specs.ToDictionary(s => s.Name, _ => new List<double>());
            for (int rep = -1; rep < repetitions; rep++)
            {
                foreach (SystemSpec spec in specs)
                {
                    bool measured = rep >= 0;
                    RunResult r = RunPaced(spec, segment, events, rate, payload, measured ? all[spec.Name] : new LatencyHistogram(), measured ? rot[spec.Name] : new LatencyHistogram());
                    Stats.Record(alloc, spec.Name, rep, r.AllocatedPerEvent);
                    Stats.Record(rotations, spec.Name, rep, r.Rotations);
                    Stats.Record(late, spec.Name, rep, r.MaxLateUs);
                    Stats.Record(faults, spec.Name, rep, r.FaultsPer1000);
                }
            }

            string rateText = rate >= 1_000_000 ? $"{rate / 1_000_000}M" : $"{rate / 1000}k";
            var table = new ResultTable($"{rateText} events/s, {events:N0} events a run, segments of {segment >> 10} KiB: every append (ns)",
                ["system", .. LatencySeries.Headers, "rotations/run", "bytes allocated/append", "page faults/1000 appends", "max behind schedule (µs)"], []);
            var rotTable = new ResultTable($"{rateText} events/s: rotation appends only (ns)", ["system", .. LatencySeries.Headers], []);
            foreach (SystemSpec spec in specs)
            {
                LatencySeries s = LatencySeries.From(spec.Name, all[spec.Name].Snapshot());
                LatencySeries rs = LatencySeries.From(spec.Name + " rotation", rot[spec.Name].Snapshot());
                table.Rows.Add([spec.Name, .. s.Cells(), Stats.F(Stats.Median(rotations[spec.Name]), 0), Stats.F(Stats.Median(alloc[spec.Name]), 3), Stats.F(Stats.Median(faults[spec.Name]), 2), Stats.F(Stats.Median(late[spec.Name]), 0)]);
                bool rotates = spec.Name != HostFloorSystem.SystemName;
                if (rotates)
                {
                    rotTable.Rows.Add([spec.Name, .. rs.Cells()]);
                }

                if (rate == variants[0].Rate)
                {
                    result.Latencies.Add(s with { Label = spec.Name });
                    if (rotates)
                    {
                        result.Latencies.Add(rs with { Label = spec.Name + ", rotation appends" });
                    }
                }
            }

            result.Tables.Add(table);
            result.Tables.Add(rotTable);
            if (rate == variants[0].Rate && specs[0].Name == "FlashWal")
            {
                Goals(result, all, rot, alloc, specs, host);
                double f = Stats.Median(faults[specs[0].Name]);
                result.Goals.Add($"FlashWal page faults on the writer thread per 1000 appends: {f:F2} (goal 0: {(f == 0 ? "met" : "missed")})");
            }

            if (rotations.Where(r => r.Key != HostFloorSystem.SystemName).SelectMany(r => r.Value).Any(v => v < 20))
            {
                result.Notes.Add($"{rateText}: a run had fewer than 20 rotations (see rotations/run).");
            }
        }

        return result;
    }

    private static void Goals(ScenarioResult result, Dictionary<string, LatencyHistogram> all, Dictionary<string, LatencyHistogram> rot, Dictionary<string, List<double>> alloc, SystemSpec[] specs, HostInterruptions host)
    {
        LatencySnapshot fw = all[specs[0].Name].Snapshot();
        LatencySnapshot fwRot = rot[specs[0].Name].Snapshot();
        result.Goals.Add($"FlashWal p99.99 ≤ 2 µs: {fw.P9999:N0} ns ({(fw.P9999 <= 2000 ? "met" : "missed")}, {fw.P9999 / 2000.0:F2}× the goal)");
        if (all.TryGetValue(HostFloorSystem.SystemName, out LatencyHistogram? floorHistogram))
        {
            LatencySnapshot floor = floorHistogram.Snapshot();
            result.Goals.Add($"the host floor (nothing appended): p99 {floor.P99:N0} ns, p99.9 {floor.P999:N0} ns, p99.99 {floor.P9999:N0} ns, max {floor.Max:N0} ns (no system can be asked for less)");
        }

        // An append of mean m ns is interrupted with a probability of about m × the host's rate; once that
        // passes 1 in 10,000, the p99.99 is an interruption's length, whatever the code does.
        foreach (SystemSpec spec in specs.Where(s => s.Name != HostFloorSystem.SystemName))
        {
            LatencySnapshot s = all[spec.Name].Snapshot();
            double hit = host.ShareHit(s.Mean);
            result.Goals.Add($"{spec.Name}: mean append {s.Mean:F0} ns (timer included) is hit by a host interruption about {hit * 1e6:F0} times per million appends ({(hit < 1e-4 ? "under" : "over")} the 100 a p99.99 allows)");
        }

        result.Goals.Add($"FlashWal rotation appends p99 ≤ 5 µs: {fwRot.P99:N0} ns ({(fwRot.P99 <= 5000 ? "met" : "missed")}, {fwRot.P99 / 5000.0:F2}× the goal)");
        foreach (SystemSpec other in specs.Where(s => s.Name == "FlashWal (no preparer)" || Systems.Peers([s]).Length > 0))
        {
            LatencySnapshot o = all[other.Name].Snapshot();
            double ratio = (double)o.P9999 / Math.Max(1, fw.P9999);
            result.Goals.Add($"p99.99 {other.Name} / FlashWal = {ratio:F1}× (goal ≥ 10×: {(ratio >= 10 ? "met" : "missed")})");
        }

        double a = Stats.Median(alloc[specs[0].Name]);
        result.Goals.Add($"FlashWal bytes allocated per append: {a:F3} (goal 0: {(a == 0 ? "met" : "missed")})");
    }

    /// <summary>The appending thread's page faults so far (0 off Linux, where the kernel does not count them per thread).</summary>
    private static long WriterFaults() => OperatingSystem.IsLinux() ? Threading.ThreadUsage.PageFaults() : 0;

    internal readonly record struct RunResult(double AllocatedPerEvent, long Rotations, double MaxLateUs, double FaultsPer1000);

    /// <summary>One paced run of one system in a fresh directory.</summary>
    internal static RunResult RunPaced(SystemSpec spec, long segmentSize, int events, int rate, byte[] payload, LatencyHistogram all, LatencyHistogram rotation)
    {
        string dir = Stats.TempDir();
        try
        {
            using ILogSystem log = spec.Open(dir, segmentSize);
            double ticksPerEvent = Timing.TicksPerEvent(rate);
            long segment = log.Segment;
            long rotations = 0;
            long maxLate = 0;
            double nsPerTick = Timing.NsPerTick;
            long faults = WriterFaults();
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < events; i++)
            {
                long due = Timing.Due(start, i, ticksPerEvent);
                long now;
                while ((now = Stopwatch.GetTimestamp()) < due)
                {
                }

                maxLate = Math.Max(maxLate, now - due);
                long a = Stopwatch.GetTimestamp();
                log.Append(payload);
                long b = Stopwatch.GetTimestamp();
                long ns = (long)((b - a) * nsPerTick);
                all.Record(ns);
                long seg = log.Segment;
                if (seg != segment)
                {
                    segment = seg;
                    rotations++;
                    rotation.Record(ns);
                }

                if (i % CommitEvery == CommitEvery - 1)
                {
                    log.Commit();
                }
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            faults = WriterFaults() - faults;
            log.Commit();
            return new RunResult((double)allocated / events, rotations, maxLate * nsPerTick / 1000, faults * 1000.0 / events);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary><c>append-throughput</c>: unpaced appends of 64 B and 4 KiB, commit every 1000 events.</summary>
internal static class AppendThroughputScenario
{
    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "append-throughput", BarUnit = "million events/s (64 B)" };
        int repetitions = quick ? 1 : 5;
        SystemSpec[] specs = Systems.Only([.. Systems.Compared(), SystemSpec.FlashWalWaitingCommit(), SystemSpec.FlashWalBatch(50), SystemSpec.FlashWalClaim()]);
        long segment = quick ? 1L << 20 : 8L << 20;
        (int Size, int Events)[] sizes = quick ? [(64, 200_000), (4096, 5_000)] : [(64, 4_000_000), (4096, 100_000)];
        result.Method = $"Unpaced: each system appends as fast as one thread can, committing every {AppendLatencyScenario.CommitEvery} events (FlashWal RequestCommit, FasterLog and TsavoriteLog Commit(spinWait: false): none waits; 'FlashWal (Commit waits)' Commit, which returns once the blocks are in the file; FileStream Flush()), then commits; segments of {segment >> 20} MiB. " +
            $"{repetitions} measured repetitions after one discarded warm-up, systems interleaved, medians. CPU per event: Process.TotalProcessorTime delta (all threads: the writer and every background thread) / events. GB/s counts payload bytes (10^9).";
        result.Settings["systems"] = Systems.Describe(specs);
        foreach ((int size, int events) in sizes)
        {
            byte[] payload = new byte[size];
            Random.Shared.NextBytes(payload);
            var rate = specs.ToDictionary(s => s.Name, _ => new List<double>());
            var cpu = specs.ToDictionary(s => s.Name, _ => new List<double>());
            for (int rep = -1; rep < repetitions; rep++)
            {
                foreach (SystemSpec spec in specs)
                {
                    (double r, double c) = RunOnce(spec, segment, events, payload);
                    Stats.Record(rate, spec.Name, rep, r);
                    Stats.Record(cpu, spec.Name, rep, c);
                }
            }

            double fw = Stats.Median(rate[specs[0].Name]);
            var table = new ResultTable($"{size} B payloads, {events:N0} events a run", ["system", "M events/s", "GB/s", "CPU ns/event", "vs FlashWal"], []);
            foreach (SystemSpec spec in specs)
            {
                double r = Stats.Median(rate[spec.Name]);
                table.Rows.Add([spec.Name, Stats.F(r / 1e6, 2), Stats.F(r * size / 1e9, 3), Stats.F(Stats.Median(cpu[spec.Name]), 0), Stats.F(r / fw, 2) + "×"]);
                if (size == 64)
                {
                    result.Bars.Add(new Bar(spec.Name, Math.Round(r / 1e6, 3)));
                }
            }

            result.Tables.Add(table);
            string[] peers = Systems.Peers(specs);
            if (specs[0].Name != "FlashWal" || peers.Length == 0)
            {
                continue;
            }

            string best = peers.MaxBy(p => Stats.Median(rate[p]))!;
            double peer = Stats.Median(rate[best]);
            result.Goals.Add($"{size} B: FlashWal / {best} (the better peer) throughput = {fw / peer:F2}× (goal ≥ 1.5×: {(fw / peer >= 1.5 ? "met" : "missed")})");
            if (rate.TryGetValue("FileStream", out List<double>? files))
            {
                double file = Stats.Median(files);
                result.Goals.Add($"{size} B: FlashWal / FileStream throughput = {fw / file:F2}× (goal ≥ 1×: {(fw >= file ? "met" : "missed")})");
            }

            if (specs.FirstOrDefault(s => s.Name.StartsWith("FlashWal (batch", StringComparison.Ordinal)) is { } batched)
            {
                double b = Stats.Median(rate[batched.Name]);
                result.Goals.Add($"{size} B: {batched.Name} / {best} throughput = {b / peer:F2}× (goal ≥ 2×: {(b / peer >= 2 ? "met" : "missed")})");
            }
        }

        return result;
    }

    private static (double EventsPerSecond, double CpuNsPerEvent) RunOnce(SystemSpec spec, long segment, int events, byte[] payload)
    {
        string dir = Stats.TempDir();
        try
        {
            using ILogSystem log = spec.Open(dir, segment);
            int batch = log.BatchSize;
            byte[] payloads = batch > 1 ? [.. Enumerable.Repeat(payload, batch).SelectMany(p => p)] : payload;
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            if (batch > 1)
            {
                // The same commits as one at a time: every CommitEvery events (a multiple of the batch).
                for (int i = 0; i < events; i += batch)
                {
                    log.AppendBatch(payloads, payload.Length, Math.Min(batch, events - i));
                    if ((i + batch) % AppendLatencyScenario.CommitEvery == 0)
                    {
                        log.Commit();
                    }
                }
            }
            else
            {
                for (int i = 0; i < events; i++)
                {
                    log.Append(payload);
                    if (i % AppendLatencyScenario.CommitEvery == AppendLatencyScenario.CommitEvery - 1)
                    {
                        log.Commit();
                    }
                }
            }

            log.Commit();
            long elapsed = Stopwatch.GetTimestamp() - start;
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            return (events / (elapsed / (double)Stopwatch.Frequency), cpu.TotalNanoseconds / events);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
