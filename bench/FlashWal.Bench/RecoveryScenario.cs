using System.Diagnostics;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;

namespace FlashWal.Bench;

/// <summary>
/// Does the preloader hide segment opens from the replay thread? Replays one recorder-written log
/// with consumers that do 0, 100 and 300 ns of work per event (after summing the payload), with the
/// preloader and without it (each open and verify on the replay thread: the baseline), interleaved.
/// </summary>
/// <remarks>
/// The replay thread's stall per segment switch is the preloader's wait when preloading, and the
/// synchronous open and verify when not. Verification reads every byte; a consumer that does nothing
/// reads only record headers, so with no work per event no background thread can keep ahead of it,
/// and the stall is what verification costs beyond the consumer's own time.
/// </remarks>
internal static class RecoveryScenario
{
    private static readonly int[] WorkNs = [0, 100, 300];

    public static ScenarioResult Run(bool quick)
    {
        int events = quick ? 300_000 : 24_000_000;
        long segmentSize = quick ? 1L << 20 : 8L << 20;
        int repetitions = quick ? 1 : 2;
        string dir = Stats.TempDir();
        try
        {
            WriteLog(dir, events, segmentSize);
            using var peers = new PeerScans(events, segmentSize);
            var keys = WorkNs.SelectMany(w => new[] { (w, true), (w, false) }).ToList();
            var rate = keys.ToDictionary(k => k, _ => new List<double>());
            var stallP50 = keys.ToDictionary(k => k, _ => new List<double>());
            var stallMean = keys.ToDictionary(k => k, _ => new List<double>());
            var openP50 = keys.ToDictionary(k => k, _ => new List<double>());
            var gbps = keys.ToDictionary(k => k, _ => new List<double>());
            var stallP99 = keys.ToDictionary(k => k, _ => new List<double>());
            long logBytes = Directory.GetFiles(dir, "*.wal*").Sum(f => new FileInfo(f).Length);
            int segments = 0;
            for (int rep = -1; rep < repetitions; rep++)
            {
                foreach ((int work, bool preload) key in keys)
                {
                    RecoveryReport report = Replay(dir, key.work, key.preload);
                    if (!report.IsComplete || report.EventsReplayed != events)
                    {
                        throw new InvalidOperationException($"replay incomplete: {report.Outcome}, {report.EventsReplayed} of {events} events");
                    }

                    segments = report.SegmentsOpened;
                    LatencySnapshotView stall = new(key.preload ? report.ReplayWait : report.SegmentOpen);
                    Stats.Record(rate, key, rep, report.EventsPerSecond / 1e6);
                    Stats.Record(stallP50, key, rep, stall.P50Ms);
                    Stats.Record(stallMean, key, rep, stall.MeanMs);
                    Stats.Record(openP50, key, rep, report.SegmentOpen.P50 / 1e6);
                    Stats.Record(stallP99, key, rep, (key.preload ? report.ReplayWait : report.SegmentOpen).P99 / 1e6);
                    Stats.Record(gbps, key, rep, logBytes / report.Elapsed.TotalSeconds / 1e9);
                }

                peers.ScanAll(measured: rep >= 0);
            }

            var rows = keys.Select(k => new[]
            {
                k.w.ToString(System.Globalization.CultureInfo.InvariantCulture),
                k.Item2 ? "preloader" : "synchronous (baseline)",
                Stats.F(Stats.Median(rate[k]), 2),
                Stats.F(Stats.Median(openP50[k]), 2),
                Stats.F(Stats.Median(stallP50[k]), 3),
                Stats.F(Stats.Median(stallMean[k]), 3),
                Stats.F(100 * Stats.Median(stallMean[k]) / Stats.Median(openP50[k]), 0) + " %",
            });
            var result = new ScenarioResult { Scenario = "recovery", BarUnit = "GB/s of log replayed (0 ns work per event)" };
            result.Method = $"{events:N0} events of 64 B in {segments} segments of {segmentSize >> 20} MiB ({logBytes / 1e9:F2} GB of segment files, in the page cache), {repetitions} interleaved repetitions after a discarded warm-up, medians. " +
                "Stall: what the replay thread waits per segment switch (the preloader's hand-over, or the open and verify it does itself).";
            result.Tables.Add(new ResultTable("", ["work per event (ns)", "segments opened by", "M events/s", "open+verify p50 (ms)", "stall p50 (ms)", "stall mean (ms)", "stall / open"], rows.ToList()));
            result.Tables.Add(new ResultTable("verify-and-replay rate and the switch wait's p99", ["work per event (ns)", "segments opened by", "GB/s of log", "stall p99 (ms)"],
                keys.Select(k => new[] { k.w.ToString(System.Globalization.CultureInfo.InvariantCulture), k.Item2 ? "preloader" : "synchronous", Stats.F(Stats.Median(gbps[k]), 2), Stats.F(Stats.Median(stallP99[k]), 3) }).ToList()));
            foreach ((int w, bool p) k in keys.Where(k => k.w == 0))
            {
                result.Bars.Add(new Bar($"FlashWal, {(k.p ? "preloader" : "synchronous")}", Math.Round(Stats.Median(gbps[k]), 3)));
            }

            RecoveryExtras.Add(result, dir, quick);
            double best = Stats.Median(gbps[(0, true)]);
            peers.Report(result, best, Stats.Median(rate[(0, true)]) * 1e6);
            result.Goals.Add($"verify-and-replay ≥ 2 GB/s (page cache, 0 ns work, preloader): {best:F2} GB/s ({(best >= 2 ? "met" : "missed")}, {best / 2:F2}× the goal)");
            foreach (int w in WorkNs)
            {
                double wait = Stats.Median(stallP99[(w, true)]);
                double open = Stats.Median(stallP99[(w, false)]);
                result.Goals.Add($"{w} ns work: replay-thread wait p99 with the preloader / synchronous open-and-verify p99 = {wait / open:P1} (goal ≤ 1 %: {(wait <= open / 100 ? "met" : "missed")})");
            }

            return result;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteLog(string dir, int events, long segmentSize)
    {
        using WalRecorder recorder = WalRecorder.Open(dir, new WalRecorderOptions { SegmentSize = segmentSize });
        Span<byte> payload = stackalloc byte[64];
        for (int i = 0; i < events; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            recorder.Append(payload, type: 1);
            if ((i & 1023) == 1023)
            {
                recorder.Commit();
            }
        }

        recorder.Commit();
    }

    private static RecoveryReport Replay(string dir, int workNs, bool preload)
    {
        using WalRecovery recovery = WalRecovery.Open(dir, new RecoveryOptions { UsePreloader = preload });
        long workTicks = workNs * Stopwatch.Frequency / 1_000_000_000;
        long sum = 0;
        if (recovery.ResumeFrom(recovery.Catalog.FirstEventId))
        {
            while (recovery.TryReadNext(out WalEvent e))
            {
                foreach (byte b in e.Payload)
                {
                    sum += b;
                }

                if (workTicks > 0)
                {
                    long until = Stopwatch.GetTimestamp() + workTicks;
                    while (Stopwatch.GetTimestamp() < until)
                    {
                    }
                }
            }
        }

        GC.KeepAlive(sum);
        return recovery.Report;
    }

    private readonly record struct LatencySnapshotView(FlashWal.Telemetry.LatencySnapshot Snapshot)
    {
        public double P50Ms => Snapshot.Count == 0 ? 0 : Snapshot.P50 / 1e6;

        public double MeanMs => Snapshot.Count == 0 ? 0 : Snapshot.Mean / 1e6;
    }
}
