using System.Diagnostics;
using FlashWal.Recording;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary><c>host</c>: the multi-producer front, 1, 2 and 4 producer threads submitting 64-byte events one at a time, in batches, or claimed in place.</summary>
internal static class HostScenario
{
    private static readonly int[] Producers = [1, 2, 4];

    /// <summary>Events per <see cref="WalRecorderHost.SubmitBatch{T}"/> call.</summary>
    private const int BatchSize = 50;

    private enum Kind
    {
        Submit,
        SubmitBatch,
        Claim,
    }

    private static readonly Kind[] Kinds = [Kind.Submit, Kind.SubmitBatch, Kind.Claim];

    private static string Name(Kind kind) => kind switch
    {
        Kind.Submit => "Submit",
        Kind.SubmitBatch => $"SubmitBatch ({BatchSize})",
        _ => "Claim + Submit",
    };

    [System.Runtime.CompilerServices.InlineArray(64)]
    private struct Event
    {
        private byte _first;
    }

    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "host", LatencyPlotTitle = "WalRecorderHost submissions (fire and forget), per call, per kind and producer count", BarUnit = "million events/s" };
        int repetitions = quick ? 1 : 3;
        int perRun = quick ? 200_000 : 4_000_000;
        long segment = quick ? 1L << 20 : 8L << 20;
        result.Method =
            $"WalRecorderHost (queue 65,536, MaxBatch 4,096, Durability None, segments of {segment >> 20} MiB): {perRun:N0} 64-byte events a run split across the producers, each calling, in a loop, Submit(wait: None), " +
            $"SubmitBatch of {BatchSize} events (wait: None; the writer appends each with one AppendBatch), or Claim(64) then Submit(wait: None) of the claim (the payload written in place); " +
            "the run ends when Flush() returns (everything appended, committed and durable). Latency is timed per call (a batch is one call) on every producer into its own histogram; the table shows the producer with the worst p99.99. " +
            $"{repetitions} measured repetitions after a discarded warm-up, kinds and producer counts interleaved, throughput medians. " +
            $"This machine has {Environment.ProcessorCount} cores: with 2 producers and the writer thread, or 4, threads outnumber cores, so these are contention numbers, not scaling numbers.";
        var keys = Kinds.SelectMany(k => Producers.Select(p => (Kind: k, Producers: p))).ToArray();
        var rate = keys.ToDictionary(k => k, _ => new List<double>());
        var worst = keys.ToDictionary(k => k, _ => (LatencySnapshot?)null);
        for (int rep = -1; rep < repetitions; rep++)
        {
            foreach (var key in keys)
            {
                (double r, LatencySnapshot w) = RunOnce(key.Kind, key.Producers, perRun, segment);
                Stats.Record(rate, key, rep, r);
                if (rep >= 0 && (worst[key] is null || w.P9999 > worst[key]!.P9999))
                {
                    worst[key] = w;
                }
            }
        }

        var table = new ResultTable("", ["submission", "producers", "M events/s (to durable)", .. LatencySeries.Headers.Select(h => "call " + h)], []);
        foreach (var key in keys)
        {
            LatencySeries s = LatencySeries.From($"{Name(key.Kind)}, {key.Producers} producer{(key.Producers > 1 ? "s" : "")}", worst[key]!);
            table.Rows.Add([Name(key.Kind), key.Producers.ToString(System.Globalization.CultureInfo.InvariantCulture), Stats.F(Stats.Median(rate[key]) / 1e6, 2), .. s.Cells()]);
            result.Latencies.Add(s);
            result.Bars.Add(new Bar(s.Label, Math.Round(Stats.Median(rate[key]) / 1e6, 3)));
        }

        result.Tables.Add(table);
        return result;
    }

    private static (double Rate, LatencySnapshot Worst) RunOnce(Kind kind, int producers, int total, long segment)
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
            int each = total / producers / BatchSize * BatchSize;
            var threads = Enumerable.Range(0, producers).Select(t => new Thread(() =>
            {
                LatencyHistogram h = histograms[t];
                byte[] payload = new byte[64];
                var batch = new Event[BatchSize];
                go.Wait();
                int calls = kind == Kind.SubmitBatch ? each / BatchSize : each;
                for (int i = 0; i < calls; i++)
                {
                    long a = Stopwatch.GetTimestamp();
                    switch (kind)
                    {
                        case Kind.Submit:
                            host.Submit(payload, 1, SubmitWait.None);
                            break;
                        case Kind.SubmitBatch:
                            host.SubmitBatch<Event>(batch, 1, SubmitWait.None);
                            break;
                        default:
                            SubmissionClaim claim = host.Claim(64, 1);
                            claim.Payload.Clear();
                            claim.Submit(SubmitWait.None);
                            break;
                    }

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
