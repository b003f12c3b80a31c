using System.Buffers.Binary;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// A log as a machine that stopped leaves it, laid out byte by byte so that each test can take away
/// what a power cut would: three closed segments (events 1..90), a fourth never closed with three
/// sealed blocks (91..100, 101..110, 111..120), and a checkpoint whose durable id the test chooses.
/// </summary>
internal sealed class CrashedLog
{
    public const int Closed = 3;
    public const long LastClosedId = 90;
    public const long LastSealedId = 120;

    private CrashedLog(string directory, LogId log, uint chainAfter, IReadOnlyList<(long Start, long End, long First, long Last)> blocks)
    {
        Directory = directory;
        Log = log;
        ChainAfter = chainAfter;
        Blocks = blocks;
    }

    public string Directory { get; }

    public LogId Log { get; }

    /// <summary>The chain value after the open segment's last block.</summary>
    public uint ChainAfter { get; }

    /// <summary>The open segment's sealed blocks: byte range and event ids.</summary>
    public IReadOnlyList<(long Start, long End, long First, long Last)> Blocks { get; }

    /// <summary>The never-closed segment.</summary>
    public string Open => Wal.SegmentPath(Directory, Closed);

    public static CrashedLog Lay(string directory, long durable)
    {
        LogId log = Wal.WriteLog(directory, Closed, 30, Wal.Small, sealEvery: 10);
        uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(directory, Closed - 1)).FinalChain!.Value;
        SegmentWriter open = Wal.Write(directory, Closed, log, chain, LastClosedId + 1, 30, Wal.Small, sealEvery: 10);
        uint after = open.ChainValue;
        long end = open.SealedEnd;
        open.Abandon();
        byte[] bytes = File.ReadAllBytes(Wal.SegmentPath(directory, Closed));
        var blocks = new List<(long, long, long, long)>();
        for (long at = SegmentFormat.DataOffset; at < end;)
        {
            ReadOnlySpan<byte> h = bytes.AsSpan((int)at, 64);
            long next = at + BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            blocks.Add((at, next, (long)BinaryPrimitives.ReadUInt64LittleEndian(h[16..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(h[24..])));
            at = next;
        }

        new MetaCheckpoint(log, Closed, end, LastSealedId, durable, 1_700_000_000_000_000_000) { FirstSegmentIndex = 0 }.Save(directory);
        return new CrashedLog(directory, log, after, blocks);
    }

    /// <summary>Writes zeros over [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="path"/>: pages a power cut never wrote.</summary>
    public static void Zero(string path, long from, long to)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Position = from;
        stream.Write(new byte[to - from]);
    }

    /// <summary>Flips bit <paramref name="bit"/> of the byte at <paramref name="offset"/>.</summary>
    public static void Flip(string path, long offset, int bit = 0)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        int b = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(b ^ (1 << bit)));
    }
}
