using System.Diagnostics;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Storage;

namespace FlashWal.Bench;

/// <summary>
/// How to pre-fault a new segment: one madvise(MADV_POPULATE_WRITE) call, touching one byte per page,
/// or nothing (pages fault on the hot path). Measures the preparation time (off the hot path) and the
/// cost and worst case of the appends that follow (on it).
/// </summary>
internal static class PrefaultScenario
{
    public static string Run(bool quick)
    {
        PrefaultMode[] modes = [PrefaultMode.PopulateWrite, PrefaultMode.Touch, PrefaultMode.None];
        long segmentSize = quick ? 8L << 20 : 64L << 20;
        int repetitions = quick ? 2 : 7;
        var create = modes.ToDictionary(m => m, _ => new List<double>());
        var append = modes.ToDictionary(m => m, _ => new List<double>());
        var p999 = modes.ToDictionary(m => m, _ => new List<double>());
        var worst = modes.ToDictionary(m => m, _ => new List<double>());
        long[] samples = new long[(int)(segmentSize / 88) + 1]; // preallocated: recording allocates nothing
        byte[] payload = new byte[64];
        string dir = Stats.TempDir();
        try
        {
            for (int rep = -1; rep < repetitions; rep++) // repetition -1 warms up (JIT, page cache) and is not recorded
            {
                foreach (PrefaultMode mode in modes) // interleaved: each repetition runs every mode
                {
                    var options = new SegmentOptions { SegmentSize = segmentSize, Prefault = mode };
                    long t0 = Stopwatch.GetTimestamp();
                    var writer = SegmentWriter.Create(dir, (rep + 1) * modes.Length + (int)mode, LogId.NewId(), options);
                    Stats.Record(create, mode, rep, Stats.Ms(Stopwatch.GetTimestamp() - t0));
                    writer.Start(0, 0);
                    long id = 0;
                    long start = Stopwatch.GetTimestamp();
                    while (true)
                    {
                        long a = Stopwatch.GetTimestamp();
                        if (!writer.TryAppend(++id, a, 1, payload))
                        {
                            break;
                        }

                        samples[id - 1] = Stopwatch.GetTimestamp() - a;
                    }

                    Stats.Record(append, mode, rep, Stats.Ms(Stopwatch.GetTimestamp() - start) * 1e6 / id);
                    Array.Sort(samples, 0, (int)id - 1);
                    Stats.Record(p999, mode, rep, Stats.Ms(samples[(int)((id - 1) * 0.999)]) * 1e6);
                    Stats.Record(worst, mode, rep, Stats.Ms(samples[id - 2]) * 1e6);
                    writer.Close();
                    File.Delete(writer.Path);
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return $"Segment of {segmentSize >> 20} MiB, 64-byte payloads appended until full, {repetitions} interleaved repetitions, medians.\n\n" +
            Stats.Table(["prefault", "create + prefault (ms)", "append mean (ns, incl. 2 timer reads)", "append p99.9 (ns)", "append max (ns)"],
                modes.Select(m => new[] { m.ToString(), Stats.F(Stats.Median(create[m])), Stats.F(Stats.Median(append[m])), Stats.F(Stats.Median(p999[m]), 0), Stats.F(Stats.Median(worst[m]), 0) }));
    }
}
