using System.Diagnostics;
using FlashWal.Recording;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary><c>host</c>: the multi-producer front, 1, 2 and 4 producer threads submitting 64-byte events.</summary>
internal static class HostScenario
{
    private static readonly int[] Producers = [1, 2, 4];

    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "host", LatencyPlotTitle = "WalRecorderHost.Submit (fire and forget), per producer count", BarUnit = "million events/s" };
        int repetitions = quick ? 1 : 3;
        int perRun = quick ? 200_000 : 4_000_000;
        long segment = quick ? 1L << 20 : 8L << 20;
        result.Method =
            $"WalRecorderHost (queue 65,536, MaxBatch 4,096, Durability None, segments of {segment >> 20} MiB): {perRun:N0} 64-byte events a run split across the producers, each calling Submit(wait: None) in a loop; " +
            "the run ends when Flush() returns (everything appended, committed and durable). Submit latency is timed per call on every producer into its own histogram; the table shows the producer with the worst p99.99. " +
            $"{repetitions} measured repetitions after a discarded warm-up, producer counts interleaved, throughput medians. " +
            $"This machine has {Environment.ProcessorCount} cores: with 2 producers and the writer thread, or 4, threads outnumber cores, so these are contention numbers, not scaling numbers.";
        var rate = Producers.ToDictionary(p => p, _ => new List<double>());
        var worst = Producers.ToDictionary(p => p, _ => (LatencySnapshot?)null);
        byte[] payload = new byte[64];
        for (int rep = -1; rep < repetitions; rep++)
        {
            foreach (int producers in Producers)
            {
                (double r, LatencySnapshot w) = RunOnce(producers, perRun, segment, payload);
                Stats.Record(rate, producers, rep, r);
                if (rep >= 0 && (worst[producers] is null || w.P9999 > worst[producers]!.P9999))
                {
                    worst[producers] = w;
                }
            }
        }

        var table = new ResultTable("", ["producers", "M events/s (to durable)", .. LatencySeries.Headers.Select(h => "submit " + h)], []);
        foreach (int p in Producers)
        {
            LatencySeries s = LatencySeries.From($"{p} producer{(p > 1 ? "s" : "")}", worst[p]!);
            table.Rows.Add([p.ToString(System.Globalization.CultureInfo.InvariantCulture), Stats.F(Stats.Median(rate[p]) / 1e6, 2), .. s.Cells()]);
            result.Latencies.Add(s);
            result.Bars.Add(new Bar(s.Label, Math.Round(Stats.Median(rate[p]) / 1e6, 3)));
        }

        result.Tables.Add(table);
        return result;
    }

    private static (double Rate, LatencySnapshot Worst) RunOnce(int producers, int total, long segment, byte[] payload)
    {
        string dir = Stats.TempDir();
        try
        {
            using var host = WalRecorderHost.Start(dir, new WalRecorderHostOptions
            {
                Recorder = new WalRecorderOptions { SegmentSize = segment, Durability = DurabilityPolicy.None },
            });
            var histograms = Enumerable.Range(0, producers).Select(_ => new LatencyHistogram()).ToArray();
            using var go = new ManualResetEventSlim(false);
            int each = total / producers;
            var threads = Enumerable.Range(0, producers).Select(t => new Thread(() =>
            {
                LatencyHistogram h = histograms[t];
                go.Wait();
                for (int i = 0; i < each; i++)
                {
                    long a = Stopwatch.GetTimestamp();
                    host.Submit(payload, 1, SubmitWait.None);
                    h.Record(Timing.Ns(Stopwatch.GetTimestamp() - a));
                }
            })
            { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            long start = Stopwatch.GetTimestamp();
            go.Set();
            threads.ForEach(t => t.Join());
            host.Flush();
            double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
            LatencySnapshot worst = histograms.Select(h => h.Snapshot()).MaxBy(s => s.P9999)!;
            return (each * producers / seconds, worst);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
