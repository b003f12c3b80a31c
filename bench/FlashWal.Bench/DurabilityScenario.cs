using System.Diagnostics;
using FlashWal.Recording;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary>
/// <c>durability</c>: the latency of making one event durable (append + the durable flush, repeated),
/// and group commit (unpaced appends, a commit every 1000 events) with the durable watermark's lag.
/// </summary>
internal static class DurabilityScenario
{
    private const int PacedRate = 1_000_000;

    /// <summary>Appends at <see cref="PacedRate"/>, commits every 1,000 events, and records the durable lag after each commit.</summary>
    private static void Paced(ILogSystem log, int events, byte[] payload, LatencyHistogram lag)
    {
        double ticksPerEvent = Timing.TicksPerEvent(PacedRate);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < events; i++)
        {
            long due = Timing.Due(start, i, ticksPerEvent);
            while (Stopwatch.GetTimestamp() < due)
            {
            }

            log.Append(payload);
            if (i % 1000 == 999)
            {
                log.Commit();
                lag.Record(log.DurableLag);
            }
        }

        log.Commit();
    }

    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "durability", LatencyPlotTitle = "append one event and make it durable" };
        int repetitions = quick ? 1 : 3;
        int single = quick ? 100 : 2000;
        int groupEvents = quick ? 50_000 : 1_000_000;
        long segment = quick ? 1L << 20 : 8L << 20;
        SystemSpec[] specs =
        [
            SystemSpec.FlashWal(DurabilityPolicy.None, name: "FlashWal None (Flush)"),
            SystemSpec.FlashWal(DurabilityPolicy.Interval, name: "FlashWal Interval 1 ms", syncInterval: TimeSpan.FromMilliseconds(1)),
            SystemSpec.FlashWal(DurabilityPolicy.EveryCommit, name: "FlashWal EveryCommit"),
            SystemSpec.Faster("FasterLog Commit(spinWait)"),
            SystemSpec.Tsavorite("TsavoriteLog Commit(spinWait)"),
            SystemSpec.FileStream("FileStream Flush(true)"),
        ];
        result.Method =
            $"Single: append one 64-byte event, then make it durable and wait for it — FlashWal None: Flush(); Interval (SyncInterval 1 ms): Commit() + WaitForDurable(id); EveryCommit: Commit(); FasterLog and TsavoriteLog: Commit(spinWait: true); FileStream: Flush(flushToDisk: true). {single:N0} times a run. " +
            $"Group commit: {groupEvents:N0} unpaced 64-byte events, a commit every 1,000 (FlashWal None and Interval: RequestCommit, which does not wait for the file, so the lag sampled after it can trail the flusher by up to ~1 ms of events; EveryCommit: Commit; for the baselines a durable one: Commit(spinWait: true) / Flush(true), their only way to know durability); the durable lag is CommittedEventId − DurableEventId sampled after each commit (events). " +
            $"{repetitions} measured repetitions after a discarded warm-up, interleaved; latencies over all measured runs, throughput medians. Segments of {segment >> 20} MiB.";
        result.Settings["systems"] = Systems.Describe(specs);
        byte[] payload = new byte[64];
        var lat = specs.ToDictionary(s => s.Name, _ => new LatencyHistogram());
        var lag = specs.ToDictionary(s => s.Name, _ => new LatencyHistogram());
        var rate = specs.ToDictionary(s => s.Name, _ => new List<double>());
        var pacedLag = specs.ToDictionary(s => s.Name, _ => new LatencyHistogram());
        int pacedEvents = quick ? 50_000 : 500_000;
        for (int rep = -1; rep < repetitions; rep++)
        {
            foreach (SystemSpec spec in specs)
            {
                string dir = Stats.TempDir();
                try
                {
                    using (ILogSystem log = spec.Open(dir, segment))
                    {
                        LatencyHistogram h = rep >= 0 ? lat[spec.Name] : new LatencyHistogram();
                        for (int i = 0; i < single; i++)
                        {
                            long a = Stopwatch.GetTimestamp();
                            log.Append(payload);
                            log.Flush();
                            h.Record(Timing.Ns(Stopwatch.GetTimestamp() - a));
                        }
                    }

                    Directory.Delete(dir, recursive: true);
                    Directory.CreateDirectory(dir);
                    using (ILogSystem log = spec.Open(dir, segment))
                    {
                        bool baseline = log is not FlashWalSystem;
                        LatencyHistogram l = rep >= 0 ? lag[spec.Name] : new LatencyHistogram();
                        long start = Stopwatch.GetTimestamp();
                        for (int i = 0; i < groupEvents; i++)
                        {
                            log.Append(payload);
                            if (i % 1000 == 999)
                            {
                                if (baseline)
                                {
                                    log.Flush();
                                }
                                else
                                {
                                    log.Commit();
                                }

                                l.Record(log.DurableLag);
                            }
                        }

                        log.Flush();
                        Stats.Record(rate, spec.Name, rep, groupEvents / ((Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency));
                    }

                    Directory.Delete(dir, recursive: true);
                    Directory.CreateDirectory(dir);
                    using (ILogSystem log = spec.Open(dir, segment))
                    {
                        Paced(log, pacedEvents, payload, rep >= 0 ? pacedLag[spec.Name] : new LatencyHistogram());
                    }
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }

        var table = new ResultTable("append one event + make it durable (ns)", ["system", .. LatencySeries.Headers], []);
        var group = new ResultTable("group commit (every 1,000 events), durable lag in events", ["system", "M events/s", "lag p50", "lag p99", "lag max"], []);
        foreach (SystemSpec spec in specs)
        {
            LatencySeries s = LatencySeries.From(spec.Name, lat[spec.Name].Snapshot());
            table.Rows.Add([spec.Name, .. s.Cells()]);
            result.Latencies.Add(s);
            LatencySnapshot g = lag[spec.Name].Snapshot();
            double r = Stats.Median(rate[spec.Name]);
            group.Rows.Add([spec.Name, Stats.F(r / 1e6, 2), g.P50.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), g.P99.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), g.Max.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)]);
            result.Bars.Add(new Bar(spec.Name, Math.Round(r / 1e6, 3)));
        }

        var paced = new ResultTable($"group commit paced at {PacedRate:N0} events/s ({pacedEvents:N0} events a run, a plain Commit every 1,000 for every system): durable lag in events (1,000 events = 1 ms)", ["system", "lag p50", "lag p99", "lag max"], []);
        foreach (SystemSpec spec in specs)
        {
            LatencySnapshot g = pacedLag[spec.Name].Snapshot();
            if (!spec.Name.StartsWith("FlashWal", StringComparison.Ordinal))
            {
                paced.Rows.Add([spec.Name, "n/a", "n/a", "n/a"]);
                continue;
            }

            paced.Rows.Add([spec.Name, g.P50.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), g.P99.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), g.Max.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)]);
        }

        result.Notes.Add("Paced group commit: the baselines have no durable watermark to read (their commit is not a flush): n/a; FlashWal's is CommittedEventId − DurableEventId. EveryCommit flushes in Commit().");
        result.BarUnit = "million events/s, group commit";
        result.Tables.Add(table);
        result.Tables.Add(group);
        result.Tables.Add(paced);
        result.Notes.Add("FasterLog and TsavoriteLog: Commit(spinWait: true) returns when the commit (device writes and its commit record) is done; whether that includes an fsync depends on its device (Devices.CreateLogDevice defaults here). FileStream Flush(true) is fsync.");
        return result;
    }
}
