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

    public static string Run(bool quick)
    {
        int events = quick ? 300_000 : 4_000_000;
        long segmentSize = quick ? 1L << 20 : 8L << 20;
        int repetitions = quick ? 1 : 3;
        string dir = Stats.TempDir();
        try
        {
            WriteLog(dir, events, segmentSize);
            var keys = WorkNs.SelectMany(w => new[] { (w, true), (w, false) }).ToList();
            var rate = keys.ToDictionary(k => k, _ => new List<double>());
            var stallP50 = keys.ToDictionary(k => k, _ => new List<double>());
            var stallMean = keys.ToDictionary(k => k, _ => new List<double>());
            var openP50 = keys.ToDictionary(k => k, _ => new List<double>());
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
                }
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
            return $"{events:N0} events of 64 B in {segments} segments of {segmentSize >> 20} MiB (in the page cache), {repetitions} interleaved repetitions, medians. " +
                "Stall: what the replay thread waits per segment switch (the preloader's hand-over, or the open and verify it does itself).\n\n" +
                Stats.Table(["work per event (ns)", "segments opened by", "M events/s", "open+verify p50 (ms)", "stall p50 (ms)", "stall mean (ms)", "stall / open"], rows);
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
