using System.Buffers.Binary;
using FlashWal.Format;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The fuzzer's own ground truth of which events a WAL directory physically holds, independent of the
/// engine's scanner, verifier and recovery (whose judgements are what the checks test): every block, at
/// any 64-aligned offset of any segment file (plain, or a container that decompresses), whose header
/// CRC and data CRC verify (FORMAT.md §7), and the records in it. No chain, order or summary is judged.
/// An event reported durable that is not here is gone from the disk; one that is here but that strict
/// recovery did not replay is a reader's refusal.
/// </summary>
internal static class RawEventScan
{
    /// <summary>id → the sources (see <see cref="PowerCutPayload"/>) of the records with that id that carry a payload this fuzzer wrote.</summary>
    public static Dictionary<long, HashSet<(int Producer, long Seq)>> Scan(string wal, int payloadSeed)
    {
        var events = new Dictionary<long, HashSet<(int, long)>>();
        foreach (string path in Directory.GetFiles(wal))
        {
            string name = Path.GetFileName(path);
            byte[]? bytes = null;
            if (name.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal))
            {
                bytes = File.ReadAllBytes(path);
            }
            else if (name.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal))
            {
                _ = CompressedSegment.TryDecompress(path, out bytes, out _);
            }

            if (bytes is not null)
            {
                ScanSegment(bytes, payloadSeed, events);
            }
        }

        return events;
    }

    private static void ScanSegment(byte[] file, int payloadSeed, Dictionary<long, HashSet<(int, long)>> events)
    {
        for (int at = SegmentFormat.DataOffset; at + SegmentFormat.BlockHeaderSize <= file.Length; at += SegmentFormat.BlockAlignment)
        {
            ReadOnlySpan<byte> header = file.AsSpan(at, SegmentFormat.BlockHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != SegmentFormat.BlockMagic
                || BinaryPrimitives.ReadUInt32LittleEndian(header[60..]) != Crc32C.Compute(header[..60]))
            {
                continue;
            }

            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
            if (length < 2 * SegmentFormat.BlockHeaderSize || length % SegmentFormat.BlockAlignment != 0 || (long)at + length > file.Length
                || BinaryPrimitives.ReadUInt32LittleEndian(header[44..]) != Crc32C.Compute(file.AsSpan(at + SegmentFormat.BlockHeaderSize, length - SegmentFormat.BlockHeaderSize)))
            {
                continue;
            }

            int record = at + SegmentFormat.BlockHeaderSize;
            for (int r = 0; r < count && record + SegmentFormat.RecordHeaderSize <= at + length; r++)
            {
                int payloadLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(record));
                long id = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(record + 8));
                if (payloadLength < 0 || record + SegmentFormat.RecordHeaderSize + payloadLength > at + length)
                {
                    break;
                }

                if (PowerCutPayload.TryRead(file.AsSpan(record + SegmentFormat.RecordHeaderSize, payloadLength), payloadSeed, out int producer, out long seq))
                {
                    if (!events.TryGetValue(id, out HashSet<(int, long)>? sources))
                    {
                        events[id] = sources = [];
                    }

                    sources.Add((producer, seq));
                }

                record += (SegmentFormat.RecordHeaderSize + payloadLength + 7) & ~7;
            }

            at += length - SegmentFormat.BlockAlignment; // past the block (the loop adds the last 64)
        }
    }
}
