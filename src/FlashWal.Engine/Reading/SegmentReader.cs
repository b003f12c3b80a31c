using System.Buffers.Binary;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Storage;

namespace FlashWal.Reading;

/// <summary>
/// Reads one segment: maps it read-only, verifies it completely with <see cref="SegmentScanner"/>, and
/// then iterates the events of its valid prefix in place (no copy, no allocation per event) or seeks
/// to an event id by binary search over the blocks and a scan within the block.
/// </summary>
/// <remarks>
/// A segment whose tail is torn or damaged opens fine: the reader serves the valid prefix and
/// <see cref="Scan"/> says where and why it ends. Only a file with no usable header fails to open.
/// </remarks>
public sealed unsafe class SegmentReader : IDisposable
{
    private readonly MappedFile? _file;
    private readonly ReadBufferPool.ReadBuffer? _buffer; // the file's bytes, read into a pooled buffer instead of mapped
    private System.Runtime.InteropServices.GCHandle _pinned; // the decompressed bytes of a compressed segment (not readonly: Free mutates it)
    private readonly byte* _base;
    private IReadOnlyList<long> _blocks;
    private int[] _runStarts = []; // positions in _blocks where a salvaged run begins, after damage
    private int _nextRun;
    private int _block = -1;
    private long _recordOffset;
    private int _recordsLeft;
    private bool _disposed;

    private SegmentReader(MappedFile? file, SegmentScan scan)
    {
        _file = file;
        _base = file is null ? null : file.Pointer;
        Scan = scan;
        _blocks = scan.BlockOffsets;
    }

    private SegmentReader(ReadBufferPool.ReadBuffer buffer, SegmentScan scan)
    {
        _buffer = buffer;
        _base = buffer.Pointer;
        Scan = scan;
        _blocks = scan.BlockOffsets;
    }

    private SegmentReader(byte[] decompressed, string path)
    {
        _pinned = System.Runtime.InteropServices.GCHandle.Alloc(decompressed, System.Runtime.InteropServices.GCHandleType.Pinned);
        _base = (byte*)_pinned.AddrOfPinnedObject();
        Scan = SegmentScanner.Scan(path, _base, decompressed.Length);
        _blocks = Scan.BlockOffsets;
    }

    /// <summary>Whether the file was mapped (not read into a buffer, nor decompressed).</summary>
    internal bool IsMapped => _file is not null;

    /// <summary>Everything the verification of this segment found, and its valid prefix.</summary>
    public SegmentScan Scan { get; }

    /// <summary>Full path of the file.</summary>
    public string Path => Scan.Path;

    /// <summary>
    /// Set when <see cref="TryReadNext"/> returned false because damage lies ahead and verified blocks
    /// follow it (only for a reader opened to salvage): what was lost. <see cref="SkipDamage"/> goes on.
    /// </summary>
    public Finding? Damage { get; private set; }

    /// <summary>
    /// Set by <see cref="SeekTo"/> when the id sought lay in damage that a salvaged run follows: the
    /// reader is positioned after the damage, and this says what was lost there.
    /// </summary>
    public Finding? SkippedDamage { get; private set; }

    /// <summary>The first event id after <see cref="Damage"/> (0 when there is no damage ahead).</summary>
    public long NextRunFirstEventId => Damage is null ? 0 : Scan.SalvagedRuns[_nextRun].FirstEventId;

    /// <summary>The segment header.</summary>
    public SegmentHeader Header => Scan.Header!.Value;

    /// <summary>Events readable (in the valid prefix).</summary>
    public long EventCount => Scan.RecordCount;

    /// <summary>First readable event id (0 when none).</summary>
    public long FirstEventId => Scan.FirstEventId;

    /// <summary>Last readable event id (0 when none).</summary>
    public long LastEventId => Scan.LastEventId;

    /// <summary>
    /// Opens and verifies the segment at <paramref name="path"/>.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    /// <exception cref="WalCorruptionException">The segment header is damaged.</exception>
    public static SegmentReader Open(string path) => Open(path, salvage: false);

    /// <summary>
    /// Opens and verifies the segment at <paramref name="path"/>; with <paramref name="salvage"/>, a
    /// damaged segment also serves the blocks after its damage that verify on their own
    /// (<see cref="SegmentScanner.Salvage"/>), stopping at each damage with <see cref="Damage"/> set.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    /// <exception cref="WalCorruptionException">The segment header is damaged.</exception>
    public static SegmentReader Open(string path, bool salvage) => Open(path, salvage, buffers: null);

    /// <summary>
    /// <see cref="Open(string, bool)"/>, reading the file into a buffer of <paramref name="buffers"/>
    /// when one is free (the reader gives it back when disposed) and mapping it otherwise.
    /// </summary>
    internal static SegmentReader Open(string path, bool salvage, ReadBufferPool? buffers)
    {
        SegmentReader reader = OpenVerified(path, buffers);
        if (salvage && reader.Scan.State == SegmentState.Damaged)
        {
            // Scan.FileLength is the mapped length (the decompressed one for a .walz).
            SegmentScanner.Salvage(reader.Scan, reader._base, reader.Scan.FileLength);
            if (reader.Scan.SalvagedRuns.Count > 0)
            {
                var blocks = new List<long>(reader.Scan.BlockOffsets);
                var starts = new int[reader.Scan.SalvagedRuns.Count];
                for (int i = 0; i < starts.Length; i++)
                {
                    starts[i] = blocks.Count;
                    blocks.AddRange(reader.Scan.SalvagedRuns[i].BlockOffsets);
                }

                reader._blocks = blocks;
                reader._runStarts = starts;
            }
        }

        return reader;
    }

    private static SegmentReader OpenVerified(string path, ReadBufferPool? buffers)
    {
        ArgumentNullException.ThrowIfNull(path);
        path = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(path))
        {
            throw new WalNotAFileException(path);
        }

        if (!File.Exists(path))
        {
            throw MissingPath.Error(path);
        }

        if (SegmentLocator.IsCompressed(path))
        {
            return OpenCompressed(path);
        }

        FileStream stream = WalFileErrors.OpenRead(path);
        long length = stream.Length;
        if (length > 0 && buffers is not null && TryRent(buffers, length) is { } buffer)
        {
            return OpenRead(path, stream, length, buffer);
        }

        MappedFile? mapped = null;
        if (length == 0)
        {
            stream.Dispose();
        }
        else
        {
            try
            {
                mapped = MappedFile.Map(stream, length, writable: false);
            }
            catch (Exception e) when (WalFileErrors.IsIo(e))
            {
                throw WalFileErrors.Reading(path, e);
            }
        }

        try
        {
            SegmentScan scan = SegmentScanner.Scan(path, mapped is null ? null : mapped.Pointer, length);
            ThrowIfUnreadable(scan, mapped is null ? null : mapped.Pointer);
            return new SegmentReader(mapped, scan);
        }
        catch
        {
            mapped?.Dispose();
            throw;
        }
    }

    /// <summary>A buffer for <paramref name="length"/> bytes, or null: none is free, or memory for one is not (then the file is mapped, as without a pool).</summary>
    private static ReadBufferPool.ReadBuffer? TryRent(ReadBufferPool buffers, long length)
    {
        try
        {
            return buffers.TryRent(length, out ReadBufferPool.ReadBuffer? buffer) ? buffer : null;
        }
        catch (OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>Reads the file into <paramref name="buffer"/> and verifies it there; disposes the stream, and releases the buffer on failure.</summary>
    private static SegmentReader OpenRead(string path, FileStream stream, long length, ReadBufferPool.ReadBuffer buffer)
    {
        try
        {
            using (stream)
            {
                try
                {
                    length = buffer.ReadFrom(stream.SafeFileHandle, length);
                }
                catch (Exception e) when (WalFileErrors.IsIo(e))
                {
                    throw WalFileErrors.Reading(path, e);
                }
            }

            SegmentScan scan = SegmentScanner.Scan(path, length == 0 ? null : buffer.Pointer, length);
            ThrowIfUnreadable(scan, buffer.Pointer);
            return new SegmentReader(buffer, scan);
        }
        catch
        {
            buffer.Release();
            throw;
        }
    }

    private static SegmentReader OpenCompressed(string path)
    {
        if (!CompressedSegment.TryDecompress(path, out byte[]? segment, out Finding? problem))
        {
            throw SegmentRefusal.Of(problem!, path, () => SegmentRefusal.ContainerVersion(path));
        }

        return FromImage(segment, path);
    }

    /// <summary>
    /// Verifies and reads a segment held in memory, as the file would be read: a compressed segment's
    /// contents, or a segment rebuilt from a replica's messages. <paramref name="name"/> names it in
    /// findings and errors. The array must not change while the reader is used.
    /// </summary>
    /// <exception cref="WalFormatException">It is not a segment, or its header is damaged.</exception>
    /// <exception cref="WalVersionException">A newer format version wrote it.</exception>
    public static SegmentReader FromImage(byte[] segment, string name)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(name);
        var reader = new SegmentReader(segment, name);
        try
        {
            ThrowIfUnreadable(reader.Scan, reader._base);
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Throws the exception that says why a segment whose header could not be read is unusable; returns when it has a header.</summary>
    internal static void ThrowIfUnreadable(SegmentScan scan, byte* data)
    {
        if (scan.Header is not null)
        {
            return;
        }

        ushort version = scan.Findings[0].Code == FindingCode.UnsupportedVersion ? BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(data + SegmentHeader.OffVersion, 2)) : (ushort)0;
        throw SegmentRefusal.Of(scan.Findings[0], scan.Path, () => version);
    }

    /// <summary>Reads the next event. False at the end of the valid prefix.</summary>
    /// <exception cref="ObjectDisposedException">The reader was disposed (its mapping is gone).</exception>
    public bool TryReadNext(out WalEvent next)
    {
        while (_recordsLeft == 0)
        {
            ThrowIfDisposed(); // here, not per event: Dispose empties the block, so a disposed reader always comes this way
            if (_block + 1 >= _blocks.Count || (_nextRun < _runStarts.Length && _block + 1 == _runStarts[_nextRun]))
            {
                Damage = _block + 1 < _blocks.Count ? Scan.SalvagedRuns[_nextRun].Damage : null;
                next = default;
                return false;
            }

            EnterBlock(_block + 1);
        }

        next = WalEvent.At(_base + _recordOffset, out int size);
        _recordOffset += size;
        _recordsLeft--;
        return true;
    }

    /// <summary>
    /// Positions the reader so that <see cref="TryReadNext"/> returns the first event whose id is
    /// ≥ <paramref name="eventId"/>. False (and positioned at the end) when there is none.
    /// </summary>
    public bool SeekTo(long eventId)
    {
        ThrowIfDisposed();
        // Binary search for the first block whose last id is >= eventId.
        int low = 0;
        int high = _blocks.Count;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (BlockLastId(middle) < eventId)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        Damage = null;
        SkippedDamage = null;
        if (low == _blocks.Count)
        {
            _block = _blocks.Count - 1;
            _recordsLeft = 0;
            _nextRun = _runStarts.Length;
            return false;
        }

        _nextRun = 0;
        SkippedDamage = null;
        while (_nextRun < _runStarts.Length && _runStarts[_nextRun] <= low)
        {
            if (_runStarts[_nextRun] == low)
            {
                SkippedDamage = Scan.SalvagedRuns[_nextRun].Damage; // the id was in the damage before this run
            }

            _nextRun++; // a seek into a run (or past one) does not stop at the damage before it
        }

        EnterBlock(low);
        while (_recordsLeft > 0)
        {
            byte* record = _base + _recordOffset;
            if (BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(record + 8, 8)) >= eventId)
            {
                return true;
            }

            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(record, 4));
            _recordOffset += SegmentFormat.RecordSize(length);
            _recordsLeft--;
        }

        return true; // unreachable in a verified block: its last id is >= eventId
    }

    /// <summary>Goes back to the first event.</summary>
    public void Rewind()
    {
        ThrowIfDisposed();
        _block = -1;
        _recordsLeft = 0;
        _nextRun = 0;
        Damage = null;
    }

    /// <summary>Moves past <see cref="Damage"/> to the next verified run of blocks.</summary>
    /// <exception cref="InvalidOperationException">No damage is pending.</exception>
    public void SkipDamage()
    {
        ThrowIfDisposed();
        if (Damage is null)
        {
            throw new InvalidOperationException("No damage is pending; SkipDamage follows a TryReadNext that stopped at damage.");
        }

        int start = _runStarts[_nextRun];
        _nextRun++;
        Damage = null;
        EnterBlock(start);
    }

    /// <summary>Unmaps the file (or gives back the buffer it was read into). Payload spans handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return; // the buffer, if any, went back once already
        }

        _disposed = true;
        _recordsLeft = 0; // the next TryReadNext goes by the disposed check instead of reading unmapped memory
        _file?.Dispose();
        _buffer?.Release();

        if (_pinned.IsAllocated)
        {
            _pinned.Free();
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(SegmentReader), $"The reader of '{Path}' has been disposed; its bytes are no longer in memory.");
        }
    }

    private void EnterBlock(int block)
    {
        long offset = _blocks[block];
        _block = block;
        _recordOffset = offset + SegmentFormat.BlockHeaderSize;
        _recordsLeft = (int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_base + offset + BlockHeader.OffRecordCount, 4));
    }

    private long BlockLastId(int block) =>
        BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(_base + _blocks[block] + BlockHeader.OffLastId, 8));
}
