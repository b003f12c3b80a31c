using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Storage;

namespace FlashWal.Reading;

/// <summary>
/// One segment as <see cref="WalTailer"/> sees it: the whole file mapped read-only (or, for a
/// compressed segment, its decompressed bytes pinned), with a valid header, and nothing judged beyond
/// it: blocks are checked one at a time as they appear.
/// </summary>
internal sealed unsafe class TailSegment : IDisposable
{
    private readonly MappedFile? _file;
    private GCHandle _pinned; // not readonly: Free mutates it

    private TailSegment(MappedFile? file, byte[]? bytes, SegmentScan scan, byte* data, long length, bool compressed)
    {
        _file = file;
        if (bytes is not null)
        {
            _pinned = GCHandle.Alloc(bytes, GCHandleType.Pinned);
            data = (byte*)_pinned.AddrOfPinnedObject();
        }

        Base = data;
        Length = length;
        Scan = scan;
        Header = scan.Header!.Value;
        Limit = Math.Min(length, Header.Capacity);
        Compressed = compressed;
    }

    /// <summary>Full path of the file.</summary>
    public string Path => Scan.Path;

    /// <summary>The segment index (from its header, equal to its name's).</summary>
    public long Index => Header.SegmentIndex;

    /// <summary>The valid header.</summary>
    public SegmentHeader Header { get; }

    /// <summary>Where the file's findings go (its path and header); holds no block list.</summary>
    public SegmentScan Scan { get; }

    /// <summary>The first byte of the file's contents.</summary>
    public byte* Base { get; }

    /// <summary>Bytes mapped: the file's length.</summary>
    public long Length { get; }

    /// <summary>The end of the space blocks may occupy: the capacity, or the file's end if it is shorter.</summary>
    public long Limit { get; }

    /// <summary>Whether it was read from a compressed container (a closed segment; never changes).</summary>
    public bool Compressed { get; }

    /// <summary>
    /// Opens segment <paramref name="index"/> of <paramref name="directory"/>: the plain file if it
    /// exists, else the compressed one; null when neither does (not created yet, or removed).
    /// </summary>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">It uses a newer format version.</exception>
    /// <exception cref="WalCorruptionException">Its header is damaged or names another index, or its container is damaged.</exception>
    public static TailSegment? TryOpen(string directory, long index)
    {
        string path = SegmentLocator.PlainPath(directory, index);
        FileStream stream;
        try
        {
            // ReadWrite | Delete: the recorder keeps writing the file, and may delete it (a discarded
            // segment, retention, compression) while it is mapped here; the mapping stays valid.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return TryOpenCompressed(directory, index);
        }
        catch (Exception e) when (WalFileErrors.IsIo(e))
        {
            throw WalFileErrors.Reading(path, e);
        }

        long length = stream.Length;
        if (length == 0)
        {
            stream.Dispose();
            var empty = new SegmentScan(path, 0);
            SegmentScanner.TryReadHeader(empty, null, 0, out _);
            SegmentReader.ThrowIfUnreadable(empty, null);
        }

        // Segment files are preallocated to their capacity before they get their name, so mapping
        // the length now maps every byte the writer will ever write.
        MappedFile mapped = MappedFile.Map(stream, length, writable: false);
        try
        {
            var scan = new SegmentScan(path, length);
            if (!SegmentScanner.TryReadHeader(scan, mapped.Pointer, length, out SegmentHeader header))
            {
                SegmentReader.ThrowIfUnreadable(scan, mapped.Pointer);
            }

            ThrowIfMisnamed(scan, index, header);
            return new TailSegment(mapped, null, scan, mapped.Pointer, length, compressed: false);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    private static TailSegment? TryOpenCompressed(string directory, long index)
    {
        string path = SegmentLocator.CompressedPath(directory, index);
        if (!File.Exists(path))
        {
            return null;
        }

        byte[]? bytes;
        Finding? problem;
        try
        {
            if (!CompressedSegment.TryDecompress(path, out bytes, out problem))
            {
                throw SegmentRefusal.Of(problem!, path, () => SegmentRefusal.ContainerVersion(path));
            }
        }
        catch (WalPathNotFoundException)
        {
            return null; // removed by retention between the two looks
        }

        var scan = new SegmentScan(path, bytes.Length);
        fixed (byte* data = bytes)
        {
            if (!SegmentScanner.TryReadHeader(scan, data, bytes.Length, out SegmentHeader header))
            {
                SegmentReader.ThrowIfUnreadable(scan, data);
            }

            ThrowIfMisnamed(scan, index, header);
        }

        return new TailSegment(null, bytes, scan, null, bytes.Length, compressed: true);
    }

    private static void ThrowIfMisnamed(SegmentScan scan, long index, SegmentHeader header)
    {
        if (header.SegmentIndex != index)
        {
            throw new WalCorruptionException(SegmentScanner.NameMismatch(scan.Path, index, header.SegmentIndex));
        }
    }

    /// <summary>
    /// Whether the file at <see cref="Path"/> is still this segment: false when it was deleted, or
    /// deleted and created again under the same name (a recorder reopening the log discards the empty
    /// segments a crashed one prepared, then creates the next index afresh). The header, which holds
    /// the creation time in nanoseconds, tells the two files apart.
    /// </summary>
    public bool IsStillOnDisk()
    {
        if (Compressed)
        {
            return File.Exists(Path);
        }

        try
        {
            using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[SegmentFormat.HeaderSize];
            return RandomAccess.Read(handle, header, 0) == SegmentFormat.HeaderSize
                && header.SequenceEqual(new ReadOnlySpan<byte>(Base, SegmentFormat.HeaderSize));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Unmaps (or unpins) the segment. Spans into it are invalid afterwards.</summary>
    public void Dispose()
    {
        _file?.Dispose();
        if (_pinned.IsAllocated)
        {
            _pinned.Free();
        }
    }
}
