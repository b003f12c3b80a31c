using System.Buffers.Binary;

namespace FlashWal.Format;

/// <summary>
/// The recorder's metadata checkpoint, <c>wal.meta</c>: 128 bytes, versioned and CRC-protected,
/// replaced atomically (temporary file, flush, rename, directory flush). A hint for the next open,
/// always checked against the segments; never the source of truth.
/// </summary>
public readonly record struct MetaCheckpoint(
    LogId LogId,
    long SegmentIndex,
    long CommittedOffset,
    long CommittedEventId,
    long DurableEventId,
    long WrittenUnixNs)
{
    /// <summary>The file's name in the WAL directory.</summary>
    public const string FileName = "wal.meta";

    /// <summary>Its size.</summary>
    public const int Size = 128;

    /// <summary>
    /// The format version written: 2 adds <see cref="FirstSegmentIndex"/> (version 1, without it, is
    /// still read).
    /// </summary>
    public const ushort Version = 2;

    /// <summary>The first version, read for logs a recorder of that version wrote.</summary>
    internal const ushort Version1 = 1;

    /// <summary>"FWMT" read as a little-endian u32.</summary>
    public const uint Magic = 0x544D_5746;

    internal const int OffMagic = 0;
    internal const int OffVersion = 4;
    internal const int OffSize = 6;
    internal const int OffLogId = 8;
    internal const int OffSegmentIndex = 24;
    internal const int OffCommittedOffset = 32;
    internal const int OffCommittedId = 40;
    internal const int OffDurableId = 48;
    internal const int OffWritten = 56;
    internal const int OffFirstSegment = 64;
    internal const int OffCrc = 124;

    /// <summary>
    /// The lowest segment index retention has not deleted (version 2): every index below it was deleted
    /// by retention or never existed, so a segment missing at or above it was lost, not retired. Null
    /// when the checkpoint does not say (version 1).
    /// </summary>
    public long? FirstSegmentIndex { get; init; }

    /// <summary>Encodes the checkpoint into 128 bytes.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> b = destination[..Size];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffMagic..], Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(b[OffVersion..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b[OffSize..], Size);
        LogId.WriteTo(b[OffLogId..]);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffSegmentIndex..], (ulong)SegmentIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffCommittedOffset..], (ulong)CommittedOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffCommittedId..], (ulong)CommittedEventId);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffDurableId..], (ulong)DurableEventId);
        BinaryPrimitives.WriteInt64LittleEndian(b[OffWritten..], WrittenUnixNs);
        BinaryPrimitives.WriteUInt64LittleEndian(b[OffFirstSegment..], (ulong)(FirstSegmentIndex ?? 0));
        BinaryPrimitives.WriteUInt32LittleEndian(b[OffCrc..], Crc32C.Compute(b[..OffCrc]));
    }

    /// <summary>Decodes 128 bytes; null with a reason when they are not a valid checkpoint.</summary>
    public static MetaCheckpoint? TryRead(ReadOnlySpan<byte> b, out string? problem)
    {
        problem = null;
        if (b.Length != Size)
        {
            problem = $"the file has {b.Length} bytes, not {Size}";
        }
        else if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Magic)
        {
            problem = "the file does not start with the checkpoint magic \"FWMT\"";
        }
        else if (BinaryPrimitives.ReadUInt32LittleEndian(b[OffCrc..]) != Crc32C.Compute(b[..OffCrc]))
        {
            problem = "the checkpoint's CRC does not match its bytes";
        }
        else if (BinaryPrimitives.ReadUInt16LittleEndian(b[OffVersion..]) is not (Version or Version1) || BinaryPrimitives.ReadUInt16LittleEndian(b[OffSize..]) != Size)
        {
            problem = $"unknown checkpoint version {BinaryPrimitives.ReadUInt16LittleEndian(b[OffVersion..])}";
        }
        else if (b[(BinaryPrimitives.ReadUInt16LittleEndian(b[OffVersion..]) == Version1 ? OffFirstSegment : OffFirstSegment + 8)..OffCrc].IndexOfAnyExcept((byte)0) >= 0)
        {
            problem = "reserved checkpoint bytes are not zero";
        }

        if (problem is not null)
        {
            return null;
        }

        return new MetaCheckpoint(
            LogId.Read(b[OffLogId..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffSegmentIndex..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffCommittedOffset..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffCommittedId..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffDurableId..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[OffWritten..]))
        {
            FirstSegmentIndex = BinaryPrimitives.ReadUInt16LittleEndian(b[OffVersion..]) == Version1 ? null : (long)BinaryPrimitives.ReadUInt64LittleEndian(b[OffFirstSegment..]),
        };
    }

    /// <summary>Replaces <c>wal.meta</c> in <paramref name="directory"/> atomically and durably.</summary>
    public void Save(string directory) => Save(directory, Storage.Disk.Real);

    /// <summary>
    /// Replaces <c>wal.meta</c> through <paramref name="disk"/>: a temporary file written and synced,
    /// renamed over it, the directory synced. A reader, and a power cut, see the old or the new one.
    /// </summary>
    internal void Save(string directory, Storage.Disk disk)
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        disk.ReplaceFile(Path.Combine(directory, FileName), bytes);
    }

    /// <summary>Reads <c>wal.meta</c>: the checkpoint, or null with why (missing, damaged, unreadable). Never throws for the file: it is a hint.</summary>
    public static MetaCheckpoint? Load(string directory, out string? problem)
    {
        string path = Path.Combine(directory, FileName);
        if (Directory.Exists(path))
        {
            problem = "the file cannot be read: it is a directory";
            return null;
        }

        if (!File.Exists(path))
        {
            problem = "missing";
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"the file cannot be read: {e.Message}";
            return null;
        }

        return TryRead(bytes, out problem);
    }
}
