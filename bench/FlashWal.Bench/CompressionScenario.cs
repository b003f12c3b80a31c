using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using FlashWal.Format;
using FlashWal.Recording;

namespace FlashWal.Bench;

/// <summary>
/// Which BCL codec to compress cold segments with: ratio, compression and decompression speed of a
/// closed segment, for random payloads (the worst case) and for structured order events.
/// </summary>
internal static class CompressionScenario
{
    private static readonly (string Name, Func<Stream, Stream> Compress, Func<Stream, Stream> Decompress)[] Codecs =
    [
        ("Deflate fastest", s => new DeflateStream(s, CompressionLevel.Fastest, leaveOpen: true), s => new DeflateStream(s, CompressionMode.Decompress, leaveOpen: true)),
        ("Deflate optimal", s => new DeflateStream(s, CompressionLevel.Optimal, leaveOpen: true), s => new DeflateStream(s, CompressionMode.Decompress, leaveOpen: true)),
        ("Brotli q1", s => new BrotliStream(s, new BrotliCompressionOptions { Quality = 1 }, leaveOpen: true), s => new BrotliStream(s, CompressionMode.Decompress, leaveOpen: true)),
        ("Brotli q4", s => new BrotliStream(s, new BrotliCompressionOptions { Quality = 4 }, leaveOpen: true), s => new BrotliStream(s, CompressionMode.Decompress, leaveOpen: true)),
        ("ZLib fastest", s => new ZLibStream(s, CompressionLevel.Fastest, leaveOpen: true), s => new ZLibStream(s, CompressionMode.Decompress, leaveOpen: true)),
    ];

    public static string Run(bool quick)
    {
        long size = quick ? 4L << 20 : 64L << 20;
        int repetitions = quick ? 1 : 3;
        string dir = Stats.TempDir();
        var rows = new List<string[]>();
        try
        {
            foreach ((string kind, Action<long, Span<byte>> fill) in new (string, Action<long, Span<byte>>)[] { ("random 64 B", FillRandom), ("order events", FillOrder) })
            {
                byte[] segment = WriteSegment(dir, kind == "random 64 B" ? 0 : 1, size, fill);
                var ratio = Codecs.ToDictionary(c => c.Name, _ => new List<double>());
                var pack = Codecs.ToDictionary(c => c.Name, _ => new List<double>());
                var unpack = Codecs.ToDictionary(c => c.Name, _ => new List<double>());
                for (int rep = -1; rep < repetitions; rep++)
                {
                    foreach (var codec in Codecs)
                    {
                        var packed = new MemoryStream();
                        long t = Stopwatch.GetTimestamp();
                        using (Stream z = codec.Compress(packed))
                        {
                            z.Write(segment);
                        }

                        double packSeconds = Stopwatch.GetElapsedTime(t).TotalSeconds;
                        packed.Position = 0;
                        var restored = new MemoryStream(segment.Length);
                        t = Stopwatch.GetTimestamp();
                        using (Stream z = codec.Decompress(packed))
                        {
                            z.CopyTo(restored);
                        }

                        double unpackSeconds = Stopwatch.GetElapsedTime(t).TotalSeconds;
                        if (!restored.GetBuffer().AsSpan(0, (int)restored.Length).SequenceEqual(segment))
                        {
                            throw new InvalidOperationException($"{codec.Name} did not round-trip");
                        }

                        Stats.Record(ratio, codec.Name, rep, (double)segment.Length / packed.Length);
                        Stats.Record(pack, codec.Name, rep, segment.Length / packSeconds / (1 << 20));
                        Stats.Record(unpack, codec.Name, rep, segment.Length / unpackSeconds / (1 << 20));
                    }
                }

                rows.AddRange(Codecs.Select(c => new[] { kind, c.Name, Stats.F(Stats.Median(ratio[c.Name]), 2), Stats.F(Stats.Median(pack[c.Name]), 0), Stats.F(Stats.Median(unpack[c.Name]), 0) }));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return $"A closed {size >> 20} MiB segment (data plus its zero tail), {repetitions} interleaved repetitions, medians; MiB/s of segment bytes.\n\n" +
            Stats.Table(["payloads", "codec", "ratio", "compress (MiB/s)", "decompress (MiB/s)"], rows);
    }

    private static byte[] WriteSegment(string dir, long index, long size, Action<long, Span<byte>> fill)
    {
        var writer = SegmentWriter.Create(dir, index, LogId.NewId(), new SegmentOptions { SegmentSize = size });
        writer.Start(0, 0);
        Span<byte> payload = stackalloc byte[64];
        long id = 0;
        do
        {
            fill(++id, payload);
        }
        while (writer.TryAppend(id, 1_700_000_000_000_000_000 + id * 1000, 1, payload));

        writer.Close();
        return File.ReadAllBytes(writer.Path);
    }

    private static void FillRandom(long id, Span<byte> payload) => Random.Shared.NextBytes(payload);

    /// <summary>An order event: instrument, side, price near a drifting mid, quantity, order and client ids.</summary>
    private static void FillOrder(long id, Span<byte> payload)
    {
        payload.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(payload, 1 + (int)(id % 16));                 // instrument
        payload[4] = (byte)(id % 2);                                                           // side
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], 100_000 + (id / 100 % 500) + Random.Shared.Next(-20, 20)); // price ticks
        BinaryPrimitives.WriteInt64LittleEndian(payload[16..], 100 * Random.Shared.Next(1, 50)); // quantity
        BinaryPrimitives.WriteInt64LittleEndian(payload[24..], 9_000_000 + id);                 // order id
        BinaryPrimitives.WriteInt32LittleEndian(payload[32..], 40 + Random.Shared.Next(0, 200)); // client
    }
}
