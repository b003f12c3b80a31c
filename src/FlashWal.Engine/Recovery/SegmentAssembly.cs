using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Storage;

namespace FlashWal.Recovery;

/// <summary>
/// Writes one segment from parts copied elsewhere (a restore from a replica): its header, its blocks
/// in order, bytes outside the blocks, its summary. The file is built as <c>{index}.wal.tmp</c> and
/// takes its segment name only once it is on stable storage (FORMAT.md §8), so a restore cut short
/// leaves no half segment under a segment name. Where each part may go is decided by a
/// <see cref="SegmentPlacement"/>, the same the remote reader uses; the bytes themselves are judged by
/// the verifier once the log is rebuilt, with the rules every other reader uses.
/// </summary>
public sealed class SegmentAssembly : IDisposable
{
    private readonly Disk _disk;
    private readonly string _directory;
    private readonly string _tempPath;
    private readonly SegmentPlacement _placement;
    private FileStream? _file;

    private SegmentAssembly(Disk disk, string directory, SegmentPlacement placement, FileStream file, string tempPath)
    {
        _disk = disk;
        _directory = directory;
        _placement = placement;
        _file = file;
        _tempPath = tempPath;
    }

    /// <summary>The segment's header, decoded.</summary>
    public SegmentHeader Header => _placement.Header;

    /// <summary>The path the segment gets once it is complete.</summary>
    public string Path => _placement.Name;

    /// <summary>Where the next block must start: just past the last block written (the data offset before any).</summary>
    public long NextBlockOffset => _placement.NextBlockOffset;

    /// <summary>Blocks written.</summary>
    public int BlockCount => _placement.BlockCount;

    /// <summary>Whether its summary was written.</summary>
    public bool IsClosed => _placement.IsClosed;

    /// <summary>
    /// Starts segment <paramref name="segmentIndex"/> of the log <paramref name="logId"/> from its 128
    /// header bytes, <paramref name="header"/>, in <paramref name="directory"/>: creates
    /// <c>{index}.wal.tmp</c> at the header's capacity, zeros, with the header at 0.
    /// </summary>
    /// <exception cref="WalReplicaException">The header is not a valid header of that segment of <paramref name="logId"/>, or the segment exists already.</exception>
    public static SegmentAssembly Begin(string directory, long segmentIndex, ReadOnlySpan<byte> header, LogId logId) =>
        Begin(directory, segmentIndex, header, logId, Disk.Real);

    internal static SegmentAssembly Begin(string directory, long segmentIndex, ReadOnlySpan<byte> header, LogId logId, Disk disk)
    {
        string path = SegmentLocator.PlainPath(directory, segmentIndex);
        SegmentPlacement placement = SegmentPlacement.Begin(header, logId, segmentIndex, directory, path);
        if (SegmentLocator.Find(directory, segmentIndex) is { } existing)
        {
            throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, $"Segment {segmentIndex} is copied twice: '{existing}' exists already.", existing);
        }

        string temp = path + ".tmp";
        disk.Delete(temp); // a restore cut short left it: it never carried a segment name
        FileStream file = disk.CreateNew(temp, placement.Header.Capacity);
        try
        {
            disk.Write(file, header, 0, path);
            return new SegmentAssembly(disk, directory, placement, file, temp);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Writes consecutive whole blocks, <paramref name="blocks"/>, at <paramref name="offset"/>, which must be where the last block ended (<see cref="SegmentPlacement.Blocks"/>).</summary>
    /// <exception cref="WalReplicaException">The blocks do not start where the last ended, are not whole blocks, do not fit, or come after the summary.</exception>
    public void AddBlocks(long offset, ReadOnlySpan<byte> blocks)
    {
        FileStream file = Open();
        _placement.Blocks(offset, blocks);
        _disk.Write(file, blocks, offset, Path);
    }

    /// <summary>Writes bytes that lie outside the header, the summary and the blocks (<see cref="SegmentPlacement.Stray"/>).</summary>
    /// <exception cref="WalReplicaException">The bytes overlap the header, the summary area or the blocks, or lie outside the file.</exception>
    public void AddStray(long offset, ReadOnlySpan<byte> bytes)
    {
        FileStream file = Open();
        _placement.Stray(offset, bytes.Length);
        _disk.Write(file, bytes, offset, Path);
    }

    /// <summary>
    /// Writes the segment's summary (its 64 bytes), once <see cref="SegmentPlacement.Close"/> found that
    /// it describes the blocks written, and gives the file <paramref name="length"/>.
    /// </summary>
    /// <exception cref="WalReplicaException">The summary is not valid, does not describe the blocks written, or comes twice.</exception>
    public void Close(ReadOnlySpan<byte> summary, long length)
    {
        FileStream file = Open();
        _placement.Close(summary, length);
        if (length != file.Length)
        {
            _disk.SetLength(file, length);
        }

        _disk.Write(file, summary, SegmentFormat.SummaryOffset, Path);
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
}
