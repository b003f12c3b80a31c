using System.Diagnostics;
using FlashWal.Format;

namespace FlashWal.Bench;

/// <summary>
/// CRC-32C throughput: one dependent chain of CRC instructions (the baseline) against three
/// interleaved lanes joined by table lookups (what <see cref="Crc32C.Update(uint, ReadOnlySpan{byte})"/>
/// does for long inputs), over one block's bytes (cache-resident) and over a whole segment.
/// </summary>
internal static class ChecksumScenario
{
    public static string Run(bool quick)
    {
        int repetitions = quick ? 1 : 5;
        TimeSpan each = TimeSpan.FromMilliseconds(quick ? 50 : 300);
        var sizes = new[] { ("64 KiB block", 64 << 10), ("8 MiB segment", 8 << 20) };
        var variants = new (string Name, Func<byte[], uint> Crc)[]
        {
            ("one lane (baseline)", d => Crc32C.UpdateSerial(Crc32C.Begin(), d)),
            ("three lanes", d => Crc32C.UpdateInterleaved(Crc32C.Begin(), d)),
        };
        var rows = new List<string[]>();
        foreach ((string sizeName, int size) in sizes)
        {
            byte[] data = new byte[size];
            new Random(1).NextBytes(data);
            if (variants.Select(v => v.Crc(data)).Distinct().Count() != 1)
            {
                throw new InvalidOperationException("the variants disagree");
            }

            var rate = variants.ToDictionary(v => v.Name, _ => new List<double>());
            for (int rep = -1; rep < repetitions; rep++)
            {
                foreach ((string name, Func<byte[], uint> crc) in variants)
                {
                    long bytes = 0;
                    uint sink = 0;
                    long start = Stopwatch.GetTimestamp();
                    while (Stopwatch.GetElapsedTime(start) < each)
                    {
                        sink ^= crc(data);
                        bytes += data.Length;
                    }

                    GC.KeepAlive(sink);
                    Stats.Record(rate, name, rep, bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
                }
            }

            double baseline = Stats.Median(rate[variants[0].Name]);
            rows.AddRange(variants.Select(v => new[] { sizeName, v.Name, Stats.F(Stats.Median(rate[v.Name]), 2), Stats.F(Stats.Median(rate[v.Name]) / baseline, 2) + "x" }));
        }

        return $"{repetitions} interleaved repetitions of {each.TotalMilliseconds:F0} ms each, medians; GB/s of input.\n\n" +
            Stats.Table(["input", "variant", "GB/s", "vs baseline"], rows);
    }
}
