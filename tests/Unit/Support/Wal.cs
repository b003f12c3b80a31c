using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;

namespace FlashWal.Tests.Support;

/// <summary>Builds logs for tests: events whose payload is derived from their id, so any byte can be checked.</summary>
public static class Wal
{
    /// <summary>Smallest options: 8 KiB segments with 4 KiB blocks (one data page).</summary>
    public static readonly SegmentOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    public static readonly SegmentOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096 };

    public static byte[] Payload(long id, int length)
    {
        var bytes = new byte[length];
        FlashWal.Cli.SyntheticEvents.Fill(id, bytes);
        return bytes;
    }

    public static int PayloadLength(long id) => (int)(id * 37 % 200);

    /// <summary>Writes one started segment with <paramref name="count"/> events from <paramref name="firstId"/>, sealing every <paramref name="sealEvery"/> events.</summary>
    public static SegmentWriter Write(string directory, long index, LogId log, uint seed, long firstId, int count, SegmentOptions options, int sealEvery = 0, Func<long, int>? length = null)
    {
        var writer = SegmentWriter.Create(directory, index, log, options);
        writer.Start(seed, firstId - 1);
        for (long id = firstId; id < firstId + count; id++)
        {
            if (!writer.TryAppend(id, 1_700_000_000_000_000_000 + id, (ushort)(id % 7), Payload(id, (length ?? PayloadLength)(id))))
            {
                throw new InvalidOperationException($"segment full at id {id}");
            }

            if (sealEvery > 0 && (id - firstId + 1) % sealEvery == 0)
            {
                writer.Seal();
            }
        }

        return writer;
    }

    /// <summary>Writes a closed log of <paramref name="segments"/> segments, <paramref name="perSegment"/> events each. Returns the log id.</summary>
    public static LogId WriteLog(string directory, int segments, int perSegment, SegmentOptions options, int sealEvery = 10)
    {
        LogId log = LogId.NewId();
        uint chain = SegmentFormat.GenesisChainSeed(log);
        long id = 1;
        for (int s = 0; s < segments; s++)
        {
            using SegmentWriter writer = Write(directory, s, log, chain, id, perSegment, options, sealEvery);
            writer.Close();
            chain = writer.ChainValue;
            id += perSegment;
        }

        return log;
    }

    /// <summary>
    /// Writes the metadata checkpoint a recorder would leave after closing the log in
    /// <paramref name="directory"/>: its last segment, data end and event, all committed and durable.
    /// </summary>
    public static void Checkpoint(string directory)
    {
        WalCatalog catalog = WalCatalog.Open(directory);
        SegmentScan last = catalog.SegmentsWithEvents.Last();
        new MetaCheckpoint(catalog.LogId!.Value, last.SegmentIndex, last.ValidEnd, catalog.LastEventId, catalog.LastEventId, 1_700_000_000_000_000_000).Save(directory);
    }

    /// <summary>
    /// One closed segment (index 0) whose event i (from 1) has payload i-1, type 10 + i and time
    /// 1,700,000,000 s + i ns. Returns its path.
    /// </summary>
    public static string WriteKnown(string directory, params byte[][] payloads)
    {
        LogId log = LogId.NewId();
        using var writer = SegmentWriter.Create(directory, 0, log, Small);
        writer.Start(SegmentFormat.GenesisChainSeed(log), 0);
        for (int i = 0; i < payloads.Length; i++)
        {
            Assert.True(writer.TryAppend(i + 1, 1_700_000_000_000_000_000 + i + 1, (ushort)(11 + i), payloads[i]));
        }

        writer.Close();
        return SegmentPath(directory, 0);
    }

    /// <summary>
    /// Flips a byte 30 bytes into the records of block <paramref name="block"/> of segment
    /// <paramref name="index"/>, so that the block's data CRC fails. Returns the segment's path and the
    /// block's offset.
    /// </summary>
    public static (string Path, long BlockOffset) DamageBlock(string directory, long index, int block)
    {
        string segment = SegmentPath(directory, index);
        long offset;
        using (SegmentReader reader = SegmentReader.Open(segment))
        {
            offset = reader.Scan.BlockOffsets[block];
        }

        using var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset + SegmentFormat.BlockHeaderSize + 30;
        int b = file.ReadByte();
        file.Position = offset + SegmentFormat.BlockHeaderSize + 30;
        file.WriteByte((byte)(b ^ 0x5A));
        return (segment, offset);
    }

    /// <summary>Every event of a segment, copied out.</summary>
    public static List<(long Id, long Timestamp, ushort Type, byte[] Payload)> ReadAll(string path)
    {
        using SegmentReader reader = SegmentReader.Open(path);
        var events = new List<(long, long, ushort, byte[])>();
        while (reader.TryReadNext(out WalEvent e))
        {
            events.Add((e.EventId, e.TimestampUnixNs, e.Type, e.Payload.ToArray()));
        }

        return events;
    }

    /// <summary>Every event of a log directory, in strict replay, copied out.</summary>
    public static List<(long Id, long Timestamp, ushort Type, byte[] Payload)> ReadLog(string directory)
    {
        using var reader = FlashWal.Recovery.WalEventReader.Open(directory);
        var events = new List<(long, long, ushort, byte[])>();
        while (reader.TryReadNext(out WalEvent e))
        {
            events.Add((e.EventId, e.TimestampUnixNs, e.Type, e.Payload.ToArray()));
        }

        return events;
    }

    public static string SegmentPath(string directory, long index) => Path.Combine(directory, SegmentFileName.Format(index));
}
