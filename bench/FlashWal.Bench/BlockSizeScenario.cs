using System.Diagnostics;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;

namespace FlashWal.Bench;

/// <summary>
/// What the block size costs: append throughput, full verification throughput, and the cost of a
/// seek (binary search over blocks, then a scan inside one), for the sizes a user can choose.
/// </summary>
internal static class BlockSizeScenario
{
    public static string Run(bool quick)
    {
        int[] sizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
        long segmentSize = quick ? 8L << 20 : 64L << 20;
        int repetitions = quick ? 2 : 5;
        var append = sizes.ToDictionary(s => s, _ => new List<double>());
        var verify = sizes.ToDictionary(s => s, _ => new List<double>());
        var seek = sizes.ToDictionary(s => s, _ => new List<double>());
        byte[] payload = new byte[64];
        string dir = Stats.TempDir();
        int index = 0;
        try
        {
            for (int rep = -1; rep < repetitions; rep++) // repetition -1 warms up (JIT, page cache) and is not recorded
            {
                foreach (int size in sizes)
                {
                    var writer = SegmentWriter.Create(dir, index++, LogId.NewId(), new SegmentOptions { SegmentSize = segmentSize, BlockSize = size });
                    writer.Start(0, 0);
                    long id = 0;
                    long start = Stopwatch.GetTimestamp();
                    while (writer.TryAppend(++id, id, 1, payload))
                    {
                    }

                    Stats.Record(append, size, rep, Stats.Ms(Stopwatch.GetTimestamp() - start) * 1e6 / id);
                    writer.Close();

                    start = Stopwatch.GetTimestamp();
                    SegmentScan scan = SegmentScanner.ScanFile(writer.Path);
                    double seconds = Stats.Ms(Stopwatch.GetTimestamp() - start) / 1000;
                    Stats.Record(verify, size, rep, scan.ValidEnd / seconds / (1 << 30));

                    using SegmentReader reader = SegmentReader.Open(writer.Path);
                    var random = new Random(rep);
                    const int seeks = 20_000;
                    start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < seeks; i++)
                    {
                        reader.SeekTo(random.NextInt64(1, id));
                        reader.TryReadNext(out WalEvent _);
                    }

                    Stats.Record(seek, size, rep, Stats.Ms(Stopwatch.GetTimestamp() - start) * 1e6 / seeks);
                    File.Delete(writer.Path);
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return $"Segment of {segmentSize >> 20} MiB filled with 64-byte payloads, {repetitions} interleaved repetitions, medians. Verify = full scan with every CRC, data in page cache.\n\n" +
            Stats.Table(["block size", "append (ns/event)", "verify (GiB/s)", "seek + read (ns)"],
                sizes.Select(s => new[] { $"{s >> 10} KiB", Stats.F(Stats.Median(append[s])), Stats.F(Stats.Median(verify[s]), 2), Stats.F(Stats.Median(seek[s]), 0) }));
    }
}
