using System.Diagnostics;
using FlashWal.Recording;
using FlashWal.Storage;

namespace FlashWal.Bench;

/// <summary>
/// How to make the recorder's staging ring resident before its first lap: one
/// madvise(MADV_POPULATE_WRITE) call, writing every page, nothing (pages fault on the hot path), or
/// Auto (populate, then touch if a first store still costs a fault on this host). Measures the open
/// (off the hot path) and the appends of the ring's first lap, the only ones a prefault can change:
/// after it the writer stores only into pages it has stored into before.
/// </summary>
internal static class PrefaultScenario
{
    public static string Run(bool quick)
    {
        PrefaultMode[] modes = [PrefaultMode.Auto, PrefaultMode.PopulateWrite, PrefaultMode.Touch, PrefaultMode.None];
        int repetitions = quick ? 2 : 7;
        var open = modes.ToDictionary(m => m, _ => new List<double>());
        var append = modes.ToDictionary(m => m, _ => new List<double>());
        var p999 = modes.ToDictionary(m => m, _ => new List<double>());
        var worst = modes.ToDictionary(m => m, _ => new List<double>());
        var firstStore = modes.ToDictionary(m => m, _ => new List<double>());
        var chosen = modes.ToDictionary(m => m, _ => "");
        long lap = StagingRing.SizeFor(64 * 1024) / 88;
        long[] samples = new long[lap]; // preallocated: recording allocates nothing
        byte[] payload = new byte[64];
        string dir = Stats.TempDir();
        try
        {
            for (int rep = -1; rep < repetitions; rep++) // repetition -1 warms up (JIT, page cache) and is not recorded
            {
                foreach (PrefaultMode mode in modes) // interleaved: each repetition runs every mode
                {
                    string wal = Path.Combine(dir, $"{rep + 1}-{mode}");
                    var options = new WalRecorderOptions { SegmentSize = 64L << 20, Prefault = mode, Durability = DurabilityPolicy.None };
                    long t0 = Stopwatch.GetTimestamp();
                    using (var recorder = WalRecorder.Open(wal, options))
                    {
                        Stats.Record(open, mode, rep, Stats.Ms(Stopwatch.GetTimestamp() - t0));
                        long start = Stopwatch.GetTimestamp();
                        for (long i = 0; i < lap; i++)
                        {
                            long a = Stopwatch.GetTimestamp();
                            recorder.Append(payload);
                            samples[i] = Stopwatch.GetTimestamp() - a;
                        }

                        Stats.Record(append, mode, rep, Stats.Ms(Stopwatch.GetTimestamp() - start) * 1e6 / lap);
                        Array.Sort(samples);
                        Stats.Record(p999, mode, rep, Stats.Ms(samples[(int)(lap * 0.999)]) * 1e6);
                        Stats.Record(worst, mode, rep, Stats.Ms(samples[^1]) * 1e6);
                        var telemetry = recorder.GetTelemetry();
                        Stats.Record(firstStore, mode, rep, double.IsNaN(telemetry.StagingFirstWriteNs) ? 0 : telemetry.StagingFirstWriteNs);
                        chosen[mode] = telemetry.StagingPrefault.ToString();
                    }

                    Directory.Delete(wal, recursive: true);
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return $"The ring's first lap ({lap:N0} appends of 64-byte payloads into an {StagingRing.SizeFor(64 * 1024) >> 20} MiB ring), {repetitions} interleaved repetitions, medians. " +
            "A first store measured: the median store into a page nothing had stored into, right after the prefault (0: not measured).\n\n" +
            Stats.Table(["prefault asked", "used", "open (ms)", "first store measured (ns)", "append mean (ns, incl. 2 timer reads)", "append p99.9 (ns)", "append max (ns)"],
                modes.Select(m => new[] { m.ToString(), chosen[m], Stats.F(Stats.Median(open[m])), Stats.F(Stats.Median(firstStore[m]), 0), Stats.F(Stats.Median(append[m])), Stats.F(Stats.Median(p999[m]), 0), Stats.F(Stats.Median(worst[m]), 0) }));
    }
}
