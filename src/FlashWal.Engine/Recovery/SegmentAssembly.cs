using System.Buffers.Binary;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Storage;

namespace FlashWal.Recovery;

/// <summary>
/// Writes one segment from parts copied elsewhere (a restore from a replica): its header, its blocks
/// in order, bytes outside the blocks, its summary. The file is built as <c>{index}.wal.tmp</c> and
/// takes its segment name only once it is on stable storage (FORMAT.md §8), so a restore cut short
/// leaves no half segment under a segment name. Placement is checked here (each part where the
/// previous one ended, inside the file, of the same log); the bytes themselves are judged by the
/// verifier once the log is rebuilt, with the rules every other reader uses.
/// </summary>
public sealed class SegmentAssembly : IDisposable
{
    private readonly Disk _disk;
    private readonly string _directory;
    private readonly string _tempPath;
    private FileStream? _file;
    private bool _closed;

    private SegmentAssembly(Disk disk, string directory, SegmentHeader header, FileStream file, string tempPath)
    {
        _disk = disk;
        _directory = directory;
        _file = file;
        _tempPath = tempPath;
        Header = header;
        Path = SegmentLocator.PlainPath(directory, header.SegmentIndex);
        NextBlockOffset = header.DataOffset;
    }

    /// <summary>The segment's header, decoded.</summary>
    public SegmentHeader Header { get; }

    /// <summary>The path the segment gets once it is complete.</summary>
    public string Path { get; }

    /// <summary>Where the next block must start: just past the last block written (the data offset before any).</summary>
    public long NextBlockOffset { get; private set; }

    /// <summary>Blocks written.</summary>
    public int BlockCount { get; private set; }

    /// <summary>Whether its summary was written.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// Starts segment <paramref name="header"/> (its 128 header bytes) of the log <paramref name="logId"/>
    /// in <paramref name="directory"/>: creates <c>{index}.wal.tmp</c> at the header's capacity, zeros, with the header at 0.
    /// </summary>
    /// <exception cref="WalReplicaException">The header is not a valid header of a segment of <paramref name="logId"/>, or the segment exists already.</exception>
    public static SegmentAssembly Begin(string directory, ReadOnlySpan<byte> header, LogId logId) => Begin(directory, header, logId, Disk.Real);

    internal static SegmentAssembly Begin(string directory, ReadOnlySpan<byte> header, LogId logId, Disk disk)
    {
        if (header.Length != SegmentFormat.HeaderSize || !header[..SegmentFormat.Magic.Length].SequenceEqual(SegmentFormat.Magic)
            || SegmentHeader.StoredCrc(header) != SegmentHeader.ComputeCrc(header))
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, $"A segment header copied for '{directory}' is not a valid header ({header.Length} bytes, bad magic or CRC).", directory);
        }

        SegmentHeader decoded = SegmentHeader.Read(header);
        if (decoded.LogId != logId)
        {
            throw new WalReplicaException(WalReplicaException.ForeignLogErrorId, $"Segment {decoded.SegmentIndex} copied for '{directory}' belongs to log {decoded.LogId}, not to log {logId}.", directory);
        }

        if (decoded.Version != SegmentFormat.Version || decoded.DataOffset != SegmentFormat.DataOffset
            || decoded.Capacity < SegmentFormat.DataOffset || decoded.Capacity > SegmentFormat.MaxSegmentSize)
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, string.Create(CultureInfo.InvariantCulture,
                $"Segment {decoded.SegmentIndex} copied for '{directory}' has a header this build cannot place: version {decoded.Version}, data offset {decoded.DataOffset}, capacity {decoded.Capacity}."), directory);
        }

        string path = SegmentLocator.PlainPath(directory, decoded.SegmentIndex);
        if (SegmentLocator.Find(directory, decoded.SegmentIndex) is { } existing)
        {
            throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, $"Segment {decoded.SegmentIndex} is copied twice: '{existing}' exists already.", existing);
        }

        string temp = path + ".tmp";
        disk.Delete(temp); // a restore cut short left it: it never carried a segment name
        FileStream file = disk.CreateNew(temp, decoded.Capacity);
        try
        {
            disk.Write(file, header, 0, path);
            return new SegmentAssembly(disk, directory, decoded, file, temp);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes consecutive whole blocks, <paramref name="blocks"/>, at <paramref name="offset"/>, which
    /// must be where the last block ended. Each block's length is read from its header to find where
    /// the next one starts; their checksums are the verifier's to judge.
    /// </summary>
    /// <exception cref="WalReplicaException">The blocks do not start where the last ended, are not whole blocks, do not fit, or come after the summary.</exception>
    public void AddBlocks(long offset, ReadOnlySpan<byte> blocks)
    {
        FileStream file = Open();
        if (_closed || offset != NextBlockOffset)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture,
                $"blocks at offset {offset} where {(_closed ? "the summary was written already" : "the next block starts at " + NextBlockOffset)}"));
        }

        int at = 0;
        int count = 0;
        while (at < blocks.Length)
        {
            int length = blocks.Length - at < SegmentFormat.BlockHeaderSize
                ? -1
                : (int)BinaryPrimitives.ReadUInt32LittleEndian(blocks[(at + 4)..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(blocks[at..]) != SegmentFormat.BlockMagic || length < 2 * SegmentFormat.BlockAlignment
                || length % SegmentFormat.BlockAlignment != 0 || length > blocks.Length - at)
            {
                throw new WalReplicaException(WalReplicaException.BadPartErrorId, string.Create(CultureInfo.InvariantCulture,
                    $"The blocks copied for '{Path}' at offset {offset} are not whole blocks: at offset {offset + at} there is no block of a length that fits ({blocks.Length - at} bytes left)."), Path);
            }

            at += length;
            count++;
        }

        if (offset + blocks.Length > Header.Capacity)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"{blocks.Length} bytes of blocks at offset {offset} run past the capacity {Header.Capacity}"));
        }

        _disk.Write(file, blocks, offset, Path);
        NextBlockOffset = offset + blocks.Length;
        BlockCount += count;
    }

    /// <summary>
    /// Writes bytes that lie outside the header, the summary and the blocks (a frame's strays: an
    /// abandoned tail after a recovered close).
    /// </summary>
    /// <exception cref="WalReplicaException">The bytes overlap the header, the summary area or the blocks, or lie outside the file.</exception>
    public void AddStray(long offset, ReadOnlySpan<byte> bytes)
    {
        FileStream file = Open();
        long end = offset + bytes.Length;
        bool overlaps = offset < SegmentFormat.HeaderSize
            || (offset < SegmentFormat.SummaryOffset + SegmentFormat.SummarySize && end > SegmentFormat.SummaryOffset)
            || (offset < NextBlockOffset && end > SegmentFormat.DataOffset)
            || end > Math.Max(Header.Capacity, file.Length);
        if (overlaps)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"{bytes.Length} stray bytes at offset {offset}, which overlap the header, the summary, the blocks or the end of the file"));
        }

        _disk.Write(file, bytes, offset, Path);
    }

    /// <summary>
    /// Writes the segment's summary (its 64 bytes), after checking that it describes the blocks
    /// written (its data end and block count), and gives the file <paramref name="length"/>.
    /// </summary>
    /// <exception cref="WalReplicaException">The summary is not valid or does not describe the blocks written.</exception>
    public void Close(ReadOnlySpan<byte> summary, long length)
    {
        FileStream file = Open();
        if (_closed)
        {
            throw Misplaced("a second summary");
        }

        if (SegmentSummary.TryRead(summary, out _) is not { } decoded)
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, $"The summary copied for '{Path}' is not a valid summary.", Path);
        }

        if (decoded.DataEnd != NextBlockOffset || decoded.BlockCount != BlockCount)
        {
            throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The summary copied for '{Path}' describes {decoded.BlockCount} blocks ending at offset {decoded.DataEnd}, but {BlockCount} blocks ending at offset {NextBlockOffset} were copied: blocks are missing."), Path);
        }

        if (length < NextBlockOffset || length > SegmentFormat.MaxSegmentSize)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"a file length of {length}, shorter than its blocks"));
        }

        if (length != file.Length)
        {
            _disk.SetLength(file, length);
        }

        _disk.Write(file, summary, SegmentFormat.SummaryOffset, Path);
        _closed = true;
    }

    /// <summary>
    /// Makes the segment durable under its name: syncs the file, renames it from <c>.wal.tmp</c> to
    /// <c>.wal</c> (never over a file) and syncs the directory. A segment without a summary is left
    /// open, as a recorder that stopped in it leaves its last segment.
    /// </summary>
    /// <exception cref="WalSyncException">A sync failed: the segment is not durable.</exception>
    public void Complete()
    {
        FileStream file = Open();
        _disk.Sync(file, _tempPath);
        file.Dispose();
        _file = null;
        _disk.Rename(_tempPath, Path, replace: false);
        _disk.SyncDirectory(_directory);
    }

    /// <summary>Closes the file; a segment not completed stays a <c>.wal.tmp</c>, which holds no event.</summary>
    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }

    private FileStream Open() => _file ?? throw new ObjectDisposedException(nameof(SegmentAssembly), $"The assembly of '{Path}' is complete or disposed.");

    private WalReplicaException Misplaced(string what) =>
        new(WalReplicaException.OutOfOrderErrorId, $"Segment {Header.SegmentIndex} copied for '{Path}' got {what}.", Path);
}
