using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Storage;

namespace FlashWal.Recording;

/// <summary>
/// Owns one segment file: creates it exclusively with a complete header, builds each block in
/// staging memory, writes sealed blocks into the file (<c>pwrite</c>), and closes it with a summary.
/// </summary>
/// <remarks>
/// Single-threaded by design: one thread at a time appends, seals and closes, and ownership can move
/// between threads (a preparer creates it, the writer thread appends, a maintainer closes it) through
/// any hand-off that publishes memory (a ring with release/acquire, a lock, a task). Sealed blocks
/// are written into the file by whoever drains the staging (<see cref="WriteBlock"/>): the writer
/// itself for a standalone writer, the recorder's flusher otherwise.
/// <para>
/// <see cref="TryAppend(long, long, ushort, ReadOnlySpan{byte})"/> is the hot path: stores into
/// staging memory, with no checksum, allocation, lock or system call. The segment file is
/// never mapped for writing: a page of a file mapping costs a page fault at its first store, several
/// microseconds on a guest with shadow paging even after <c>MADV_POPULATE_WRITE</c>
/// (docs/PERFORMANCE.md), while the recorder's staging ring is memory the writer has written before
/// (<see cref="StagingRing"/>). Sealing a block writes its 64-byte header's fields and hands the
/// block over; whoever writes it into the file (<see cref="WriteBlock"/>) first completes the header:
/// the CRC-32C of the block's data, three lanes at a time over the whole block (a fraction of a
/// nanosecond per event, against about 10 ns for each 88-byte record on the writer), and the chain.
/// It is committed once it is in the file.
/// Durability is a separate call (<see cref="Flush"/>), never a side effect.
/// </para>
/// </remarks>
public sealed unsafe class SegmentWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Disk _disk;
    private BlockStaging? _staging;  // where blocks are built: the recorder's ring, or a buffer of this writer's own
    private byte* _base;             // _base + offset is where the open block's byte at segment offset `offset` is staged
    private readonly long _capacity;
    private readonly long _blockSize;
    private readonly int _maxPayload;

    private long _position;        // next byte to write
    private long _blockStart = -1; // offset of the open block's header, -1 when no block is open
    private long _blockLimit;      // where the open block must end: min(start + block size, capacity); 0 when none is open
    private int _blockRecords;
    private long _crcEnd;          // the writer has fed the open block's data up to this offset into _crcRegister (batches do)
    private uint _crcRegister;
    private long _blockFirstId;
    private int _blockIndex;       // index the next sealed block gets
    private uint _chain;           // chain value after the last block written into the file (the segment's seed before any): the drainer's
    private long _lastId = long.MaxValue; // no append succeeds before Start()
    private long _previousId;
    private long _sealedId;        // last event of the last sealed block
    private long _committedId;     // last event of the last block written into the file (any thread reads it)
    private long _writtenEnd = SegmentFormat.DataOffset; // offset just past the last block written into the file
    private long _firstId;
    private long _recordCount;
    private long _sealedEnd = SegmentFormat.DataOffset;
    private long _flushedEnd;      // 0 until the first flush, which covers the header page too
    private int _nameDurable;      // 1 once the directory entry has been flushed
    private readonly object _syncLock = new(); // one sync of this file at a time (the writer's flush, the maintainer's)
    private Exception? _syncFailure; // a sync of this file failed: no later one proves anything
    private bool _started;
    private bool _closed;
    private long _claimAt = -1;     // offset of the record a claim reserved, -1 when none is open
    private int _claimSize;
    private long _claimId;
    private long _lastIdBeforeClaim; // _lastId is long.MaxValue while a claim is open, so that appends fail the id check

    private SegmentWriter(string path, FileStream file, Disk disk, SegmentHeader header)
    {
        Path = path;
        _file = file;
        _disk = disk;
        Header = header;
        _capacity = header.Capacity;
        _blockSize = header.BlockSize;
        _maxPayload = SegmentFormat.MaxPayloadSize(header.BlockSize);
        _position = SegmentFormat.DataOffset;
    }

    /// <summary>Full path of the segment file.</summary>
    public string Path { get; }

    /// <summary>The header written at creation.</summary>
    public SegmentHeader Header { get; }

    /// <summary>The segment's index.</summary>
    public long SegmentIndex => Header.SegmentIndex;

    /// <summary>The largest payload one event may carry.</summary>
    public int MaxPayloadSize => _maxPayload;

    /// <summary>Whether <see cref="Start(uint, long)"/> has been called.</summary>
    public bool IsStarted => _started;

    /// <summary>Whether the segment has been closed, discarded or abandoned.</summary>
    public bool IsClosed => _closed;

    /// <summary>Id of the last appended event (0 before any).</summary>
    public long LastEventId => _recordCount == 0 ? 0 : _closed ? _sealedId : _lastId;

    /// <summary>Id of the first event in the segment (0 before any).</summary>
    public long FirstEventId => _firstId;

    /// <summary>Id of the last event in a block written into the file: visible to readers, survives a killed process. Any thread.</summary>
    public long CommittedEventId => Volatile.Read(ref _committedId);

    /// <summary>Offset just past the last block written into the file. Any thread.</summary>
    public long WrittenEnd => Volatile.Read(ref _writtenEnd);

    /// <summary>Events appended, sealed or not.</summary>
    public long RecordCount => _recordCount;

    /// <summary>Blocks sealed so far.</summary>
    public int BlockCount => _blockIndex;

    /// <summary>Offset just past the last sealed block (written into the file, or on its way there).</summary>
    public long SealedEnd => _sealedEnd;

    /// <summary>Offset the next record would be written at.</summary>
    public long WriteOffset => _position;

    /// <summary>
    /// Chain value after the last block written into the file: the seed of the next segment once this
    /// one is closed (the thread that writes blocks computes it; see <see cref="WriteBlock"/>).
    /// </summary>
    public uint ChainValue => _chain;

    /// <summary>
    /// The drainer, at a rotation: every block of <paramref name="previous"/> is written, so its chain
    /// value is final and this segment's blocks continue it. The writer started this segment before
    /// that value existed.
    /// </summary>
    internal void ContinueChainFrom(SegmentWriter previous) => _chain = previous._chain;

    /// <summary>Whether any record is waiting in an open block.</summary>
    public bool HasOpenBlock => _blockStart >= 0;

    /// <summary>
    /// Creates segment <paramref name="segmentIndex"/> in <paramref name="directory"/>: exclusive create
    /// under a temporary name, preallocation to full size, complete header, rename to the segment name
    /// (never replacing a file). A file that carries the segment name therefore always has a valid
    /// header. The file is not mapped: blocks reach it through positioned writes.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="IOException">The segment exists already, the disk is full, or access is denied.</exception>
    public static SegmentWriter Create(string directory, long segmentIndex, LogId logId, SegmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(segmentIndex);
        options.Validate();
        directory = System.IO.Path.GetFullPath(directory);
        if (!Directory.Exists(directory))
        {
            throw MissingPath.Error(directory);
        }

        string path = System.IO.Path.Combine(directory, SegmentFileName.Format(segmentIndex));
        if (File.Exists(path))
        {
            throw new IOException($"Segment '{path}' already exists; FlashWal never overwrites a segment.");
        }

        string temporary = path + SegmentFileName.TemporarySuffix;
        var header = new SegmentHeader(SegmentFormat.Version, logId, segmentIndex, options.SegmentSize,
            options.BlockSize, SegmentFormat.DataOffset, WalClock.UnixNs());

        Disk disk = options.Disk;
        FileStream? stream = null;
        bool renamed = false;
        try
        {
            // A leftover temporary file is a creation that a crash interrupted: it never carried a
            // segment name and holds no event, so it is safe to replace.
            disk.Delete(temporary);
            stream = disk.CreateNew(temporary, options.SegmentSize);
            Span<byte> bytes = stackalloc byte[SegmentFormat.HeaderSize];
            header.WriteTo(bytes);
            disk.Write(stream, bytes, 0);

            // No fsync here: under sustained writes an fsync waits behind the journal (ext4 data=ordered
            // flushes other files' data first), which made creation 10x slower than the rotations it
            // must stay ahead of. Nothing in a new segment is promised durable, so the first flush of
            // the segment makes its header and its name durable instead (see FlushCore).
            disk.Rename(temporary, path, replace: false);
            renamed = true;

            var writer = new SegmentWriter(path, stream, disk, header);
            stream = null; // owned by the writer now
            return writer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream?.Dispose();
            TryDelete(disk, renamed ? path : temporary);
            if (e is IOException && !renamed && File.Exists(path))
            {
                throw;
            }

            throw new IOException($"Cannot create segment '{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Links the segment into its log before the first append: <paramref name="chainSeed"/> is the
    /// chain value of the log's previous block (the previous segment's final chain, or
    /// <see cref="SegmentFormat.GenesisChainSeed"/> for a new log) and <paramref name="previousEventId"/>
    /// the id of the log's previous event (0 for a new log). Prepared segments are created before
    /// these are known, which is why they are not part of the header.
    /// </summary>
    /// <remarks>A writer started this way builds its blocks in a buffer of its own and writes each one
    /// into the file as it is sealed (a system call per seal, on the caller's thread): for tools and
    /// tests. The recorder starts its segments with its staging ring instead.</remarks>
    public void Start(uint chainSeed, long previousEventId) => Start(chainSeed, previousEventId, null);

    /// <summary>As <see cref="Start(uint, long)"/>, building blocks in <paramref name="staging"/> (null: a buffer of this writer's own).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per segment: see WalRecorder.Rotate
    internal void Start(uint chainSeed, long previousEventId, BlockStaging? staging)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_started)
        {
            throw new InvalidOperationException($"Segment '{Path}' has already been started.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(previousEventId);
        _staging = staging ?? new OwnBlockBuffer((int)_blockSize);
        _chain = chainSeed;
        _previousId = previousEventId;
        _lastId = previousEventId;
        _started = true;
    }

    /// <summary>
    /// Appends one event. Returns false, having sealed the open block, when the segment has no room
    /// left for it: the caller then closes this segment and continues in the next.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The payload exceeds <see cref="MaxPayloadSize"/>.</exception>
    /// <exception cref="WalEventIdException"><paramref name="eventId"/> is not greater than the previous id.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend(long eventId, long timestampUnixNs, ushort type, ReadOnlySpan<byte> payload)
    {
        int length = payload.Length;
        if ((uint)length > (uint)_maxPayload)
        {
            ThrowTooLarge(length);
        }

        if (eventId <= _lastId)
        {
            ThrowBadId(eventId);
        }

        int recordSize = SegmentFormat.RecordSize(length);
        if (_position + recordSize > _blockLimit)
        {
            if (!OpenBlockFor(recordSize))
            {
                return false;
            }
        }

        byte* p = _base + _position;
        var record = WriteRecordHeader(p, recordSize, length, type, eventId, timestampUnixNs);
        payload.CopyTo(record[SegmentFormat.RecordHeaderSize..]);
        _position += recordSize;
        if (_blockRecords++ == 0)
        {
            _blockFirstId = eventId;
        }

        _lastId = eventId;
        _recordCount++;
        return true;
    }

    /// <summary>
    /// Appends up to <paramref name="count"/> events with ids from <paramref name="firstId"/>, one
    /// timestamp and type, each carrying <paramref name="payloadLength"/> bytes of
    /// <paramref name="payloads"/> in turn. Fills the open block (and then new ones) with as many as
    /// fit: one bounds check per block, and one CRC-32C update over each block's run of records (the
    /// interleaved path, taken while the records are in the writer's cache; see
    /// <see cref="DataCrcSoFar"/>). Returns how many it appended; fewer than <paramref name="count"/>
    /// when the segment is full (its open block sealed, as
    /// <see cref="TryAppend(long, long, ushort, ReadOnlySpan{byte})"/> does).
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The payload length exceeds <see cref="MaxPayloadSize"/>.</exception>
    /// <exception cref="WalEventIdException"><paramref name="firstId"/> is not greater than the previous id.</exception>
    public int TryAppendBatch(long firstId, long timestampUnixNs, ushort type, ReadOnlySpan<byte> payloads, int payloadLength, int count)
    {
        if ((uint)payloadLength > (uint)_maxPayload)
        {
            ThrowTooLarge(payloadLength);
        }

        if (firstId <= _lastId)
        {
            ThrowBadId(firstId);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(payloads.Length, (long)payloadLength * count, nameof(payloads));
        int recordSize = SegmentFormat.RecordSize(payloadLength);
        int done = 0;
        while (done < count)
        {
            if (_position + recordSize > _blockLimit && !OpenBlockFor(recordSize))
            {
                return done;
            }

            int fit = (int)Math.Min(count - done, (_blockLimit - _position) / recordSize);
            byte* start = _base + _position;
            byte* p = start;
            long id = firstId + done;
            for (int i = 0; i < fit; i++, p += recordSize, id++)
            {
                var record = WriteRecordHeader(p, recordSize, payloadLength, type, id, timestampUnixNs);
                payloads.Slice((done + i) * payloadLength, payloadLength).CopyTo(record[SegmentFormat.RecordHeaderSize..]);
            }

            if (_blockRecords == 0)
            {
                _blockFirstId = firstId + done;
            }

            _blockRecords += fit;
            _position += (long)fit * recordSize;
            _crcRegister = Crc32C.Update(_crcRegister, new ReadOnlySpan<byte>(_base + _crcEnd, (int)(_position - _crcEnd)));
            _crcEnd = _position;
            _recordCount += fit;
            done += fit;
            _lastId = firstId + done - 1;
        }

        return done;
    }

    /// <summary>
    /// Reserves room for one event of <paramref name="length"/> payload bytes in the open block (opening
    /// one, or sealing a full one, as an append does) and writes its record header; returns where the
    /// payload goes, for the caller to write in place, or null when the segment is full. Nothing is
    /// appended until <see cref="PublishClaim"/>; no append, seal or second claim is allowed before it
    /// (or <see cref="CancelClaim"/>).
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The length exceeds <see cref="MaxPayloadSize"/>.</exception>
    /// <exception cref="WalEventIdException"><paramref name="eventId"/> is not greater than the previous id.</exception>
    /// <exception cref="InvalidOperationException">A claim is open already.</exception>
    internal byte* TryClaim(long eventId, long timestampUnixNs, ushort type, int length)
    {
        if ((uint)length > (uint)_maxPayload)
        {
            ThrowTooLarge(length);
        }

        if (eventId <= _lastId)
        {
            ThrowBadId(eventId);
        }

        int recordSize = SegmentFormat.RecordSize(length);
        if (_position + recordSize > _blockLimit && !OpenBlockFor(recordSize))
        {
            return null;
        }

        byte* p = _base + _position;
        WriteRecordHeader(p, recordSize, length, type, eventId, timestampUnixNs);
        _claimAt = _position;
        _claimSize = recordSize;
        _claimId = eventId;
        _lastIdBeforeClaim = _lastId;
        _lastId = long.MaxValue;
        return p + SegmentFormat.RecordHeaderSize;
    }

    /// <summary>Appends the claimed event, its payload as the caller wrote it (its CRC is the drainer's, as a single append's).</summary>
    /// <exception cref="InvalidOperationException">No claim is open.</exception>
    internal void PublishClaim()
    {
        if (_claimAt < 0)
        {
            throw new InvalidOperationException($"No claim is open in segment '{Path}'.");
        }

        _position += _claimSize;
        if (_blockRecords++ == 0)
        {
            _blockFirstId = _claimId;
        }

        _lastId = _claimId;
        _recordCount++;
        _claimAt = -1;
    }

    /// <summary>
    /// Gives the open claim up: nothing of it is appended (its bytes are overwritten by the next record).
    /// A block the claim opened holds no record then, and is given up too: a block is sealed only with
    /// records in it (FORMAT.md §7: a block's record count is at least 1; an empty one reads as damage).
    /// </summary>
    internal void CancelClaim()
    {
        if (_claimAt >= 0)
        {
            _lastId = _lastIdBeforeClaim;
            _claimAt = -1;
            if (_blockRecords == 0)
            {
                _position = _blockStart;
                _blockStart = -1;
                _blockLimit = 0;
            }
        }
    }

    /// <summary>
    /// Writes a record's 24-byte header at <paramref name="p"/> and zeroes its last 8 bytes (the padding
    /// after the payload, which the payload then overwrites where it reaches); returns the record's
    /// <paramref name="recordSize"/> bytes. One encoding for appends, batches and claims (FORMAT.md §7.3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Span<byte> WriteRecordHeader(byte* p, int recordSize, int length, ushort type, long eventId, long timestampUnixNs)
    {
        *(ulong*)(p + recordSize - 8) = 0;
        var record = new Span<byte>(p, recordSize);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], type); // type, then flags = 0
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], eventId);
        BinaryPrimitives.WriteInt64LittleEndian(record[16..], timestampUnixNs);
        return record;
    }

    /// <summary>Appends an event whose payload is the bytes of <paramref name="payload"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend<T>(long eventId, long timestampUnixNs, ushort type, in T payload)
        where T : unmanaged
        => TryAppend(eventId, timestampUnixNs, type, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in payload)));

    /// <summary>
    /// Seals the open block, if any: its events become visible to readers and survive a killed
    /// process (not yet a power loss: see <see cref="Flush"/>).
    /// </summary>
    public void Seal()
    {
        if (_blockStart < 0)
        {
            return;
        }

        if (_claimAt >= 0)
        {
            throw new InvalidOperationException($"A claim is open in segment '{Path}' (event {_claimId}): publish or cancel it before sealing.");
        }

        var crcSoFar = new DataCrcSoFar((int)(_crcEnd - _blockStart - SegmentFormat.BlockHeaderSize), _crcRegister);
        (long start, int length) = SealOpenBlock();
        _staging!.Sealed(this, start, length, _lastId, crcSoFar);
    }

    /// <summary>Seals the open block in staging (its header, the writer's state); returns where it lies in the segment.</summary>
    private (long Start, int Length) SealOpenBlock()
    {
        long end = (_position + (SegmentFormat.BlockAlignment - 1)) & -SegmentFormat.BlockAlignment;
        new Span<byte>(_base + _position, (int)(end - _position)).Clear();

        // The checksums (the data CRC, the chain seed and CRC, the header CRC) are the drainer's: it
        // computes them, three lanes at a time, just before the block is written (BlockHeader.Complete,
        // in WriteBlock), so a single append pays no CRC. It only continues the data CRC where a batch
        // has already taken it (DataCrcSoFar).
        BlockHeader.WriteFields(new Span<byte>(_base + _blockStart, SegmentFormat.BlockHeaderSize),
            (int)(end - _blockStart), _blockIndex, _blockRecords, _blockFirstId, _lastId, WalClock.UnixNs());
        if (_blockIndex == 0)
        {
            _firstId = _blockFirstId;
        }

        long start = _blockStart;
        _blockIndex++;
        _sealedId = _lastId;
        _sealedEnd = end;
        _position = end;
        _blockStart = -1;
        _blockLimit = 0;
        _blockRecords = 0;
        return (start, (int)(end - start));
    }

    /// <summary>
    /// Writes one sealed block into the file: <paramref name="length"/> bytes staged at
    /// <paramref name="staged"/>, for segment offset <paramref name="offset"/> (where the block written
    /// before ends), ending with event <paramref name="lastEventId"/>. Called by the one thread that
    /// drains the staging at a time; the block is committed on return.
    /// </summary>
    /// <remarks>
    /// Two positioned writes: the block but its magic (its first 4 bytes), then the magic. A reader
    /// polling the file (a tailer or a live scan, in any process) finds a block by its magic and reads
    /// the rest after it, so it never sees a block before all of it is there, nor a block after one it
    /// cannot see yet (which would read as blocks lost). The kernel copies bytes in no promised order,
    /// so a reader may see part of the magic: that is no magic, a block not there yet. A process killed
    /// between the two writes leaves a block without its magic, which is a torn end (FORMAT.md §9.1).
    /// Blocks are therefore never written several at a time.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the writer runs it when it drains the ring itself: see WalRecorder.CompileWriterPaths
    internal void WriteBlock(byte* staged, long offset, int length, long lastEventId, DataCrcSoFar crcSoFar)
    {
        _chain = BlockHeader.Complete(new Span<byte>(staged, length), _chain, crcSoFar.Register, crcSoFar.Length);
        _disk.Write(_file, new ReadOnlySpan<byte>(staged + 4, length - 4), offset + 4, Path);
        _disk.Write(_file, new ReadOnlySpan<byte>(staged, 4), offset, Path);
        Volatile.Write(ref _writtenEnd, offset + length);
        Volatile.Write(ref _committedId, lastEventId);
    }

    /// <summary>
    /// Makes every block written into the file durable (<c>fdatasync</c>). Records in an open block are
    /// not included (seal first), nor are sealed blocks the recorder's flusher has not written yet
    /// (the recorder drains them first). The first flush also makes the header and the file's name
    /// durable.
    /// </summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        long to = WrittenEnd;
        if (to > _flushedEnd)
        {
            FlushCore(_flushedEnd, to);
            _flushedEnd = to;
        }
    }

    /// <summary>
    /// Makes [<paramref name="from"/>, <paramref name="to"/>) durable without touching the writer's own
    /// state: for a thread other than the writer's (the maintainer), which must be the only one that
    /// closes this segment. The blocks must be written into the file already. The call is one
    /// <c>fdatasync</c> of the file, which covers the range and whatever else was written by then.
    /// </summary>
    public void FlushRange(long from, long to)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (to > from)
        {
            FlushCore(from, to);
        }
    }

    /// <summary>
    /// fdatasync of the file (which covers [<paramref name="from"/>, <paramref name="to"/>)); the first
    /// time, also the directory entry. Syncs of one file run one at a time, and after one failed none
    /// succeeds: Linux reports a page that could not be written back to one sync only, and marks it
    /// clean, so a second sync of the same range would "succeed" without writing it (FORMAT.md §17).
    /// </summary>
    private void FlushCore(long from, long to)
    {
        Debug.Assert(to > from);
        lock (_syncLock)
        {
            ThrowIfSyncFailed();
            try
            {
                _disk.SyncData(_file, Path);
                MakeNameDurable();
            }
            catch (Exception e) when (e is IOException or WalException)
            {
                _syncFailure = e;
                throw;
            }
        }
    }

    /// <summary>An earlier sync of this file failed: what it covered may be gone, whatever a later sync says.</summary>
    private void ThrowIfSyncFailed()
    {
        if (_syncFailure is { } failed)
        {
            throw new WalException($"An earlier sync of '{Path}' failed ({failed.Message}); no later sync of it can prove its data durable.", Path, failed);
        }
    }

    /// <summary>The first time data is made durable, the file's directory entry is made durable too (creation does not sync it).</summary>
    private void MakeNameDurable()
    {
        if (Interlocked.Exchange(ref _nameDurable, 1) == 0)
        {
            try
            {
                _disk.SyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
            }
            catch
            {
                Volatile.Write(ref _nameDurable, 0); // not durable: the next flush tries again, and fails the same way
                throw;
            }
        }
    }

    /// <summary>Offset up to which written blocks have been flushed by <see cref="Flush"/>.</summary>
    public long FlushedEnd => _flushedEnd;

    /// <summary>
    /// Seals, waits until every sealed block is in the file, syncs the data (fsync), makes the name
    /// durable, then writes the summary (one positioned write of 64 bytes into its own sector) and
    /// syncs it. Returns the summary.
    /// </summary>
    /// <remarks>
    /// The order is the promise a reader relies on after a power cut (FORMAT.md §17): the summary
    /// is written only once every block it describes is on stable storage, so a segment whose summary
    /// survived holds all its data, and any failure in it is damage, never a torn write. Nothing of the
    /// file is mapped, so writing it back never write-protects a page the writer could store into
    /// (which on Linux is a TLB-shootdown interrupt per page to every core running this process).
    /// </remarks>
    public SegmentSummary Close()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (!_started)
        {
            throw new InvalidOperationException($"Segment '{Path}' was never started; discard it instead of closing it.");
        }

        Seal();
        if (WrittenEnd < _sealedEnd)
        {
            _staging!.WaitWritten(); // the writer's own thread: the recorder's flusher may hold the last blocks
        }

        var summary = new SegmentSummary(0, _sealedEnd, _blockIndex, _chain, _recordCount,
            _firstId, _recordCount > 0 ? _lastId : 0, WalClock.UnixNs());
        MarkClosed();
        try
        {
            lock (_syncLock)
            {
                ThrowIfSyncFailed(); // a summary after a failed sync would claim data that may be gone
                try
                {
                    _disk.Sync(_file, Path);
                }
                catch (Exception e) when (e is IOException or WalException)
                {
                    _syncFailure = e;
                    throw;
                }
            }

            _flushedEnd = _sealedEnd;
            MakeNameDurable();
            Span<byte> bytes = stackalloc byte[SegmentFormat.SummarySize];
            summary.WriteTo(bytes);
            _disk.Write(_file, bytes, SegmentFormat.SummaryOffset, Path); // the stream was opened under the temporary name
            _disk.Sync(_file, Path);
        }
        finally
        {
            _file.Dispose();
        }

        return summary;
    }

    /// <summary>
    /// Closes and deletes a segment that holds no event (a prepared segment nobody used).
    /// </summary>
    /// <exception cref="InvalidOperationException">The segment holds events.</exception>
    public void Discard()
    {
        if (_closed)
        {
            return;
        }

        if (_recordCount > 0)
        {
            throw new InvalidOperationException($"Segment '{Path}' holds {_recordCount} events; it is closed, never discarded.");
        }

        MarkClosed();
        _file.Dispose();
        _disk.Delete(Path);
    }

    /// <summary>
    /// Closes without sealing, writing, flushing or summarising: the file stays exactly as a killed
    /// process leaves it (blocks staged and not yet written are lost with the process). For crash tests.
    /// </summary>
    internal void Abandon()
    {
        if (_closed)
        {
            return;
        }

        MarkClosed();
        _file.Dispose();
    }

    /// <summary>
    /// Abandons the writer as a process killed between the two writes of its open block leaves the
    /// file: every block sealed before is written, the open block is sealed and written without its
    /// magic (a torn end: FORMAT.md §9.1), and nothing more. For crash tests.
    /// </summary>
    internal void AbandonMidWrite()
    {
        if (_closed)
        {
            return;
        }

        _staging?.WaitWritten();
        if (_blockStart >= 0)
        {
            var crcSoFar = new DataCrcSoFar((int)(_crcEnd - _blockStart - SegmentFormat.BlockHeaderSize), _crcRegister);
            (long start, int length) = SealOpenBlock();
            _chain = BlockHeader.Complete(new Span<byte>(_base + start, length), _chain, crcSoFar.Register, crcSoFar.Length); // as WriteBlock would, before its first write
            _disk.Write(_file, new ReadOnlySpan<byte>(_base + start + 4, length - 4), start + 4, Path);
        }

        Abandon();
    }

    /// <summary>Closes a started segment; discards one that was never started.</summary>
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        if (_started)
        {
            Close();
        }
        else
        {
            Discard();
        }
    }

    /// <summary>
    /// Marks the writer closed. The id watermark goes to its maximum so that a late append fails the
    /// hot path's id check (which then reports the disposal) instead of writing into an unmapped view.
    /// </summary>
    private void MarkClosed()
    {
        _closed = true;
        _lastId = long.MaxValue;
        _blockStart = -1;
        _blockLimit = 0;
        if (_staging is OwnBlockBuffer own)
        {
            own.Dispose();
        }
    }

    /// <summary>Seals the open block if the record does not fit in it and opens a new one. False when the segment is full.</summary>
    private bool OpenBlockFor(int recordSize)
    {
        Seal();
        if (_position + SegmentFormat.BlockHeaderSize + recordSize > _capacity)
        {
            return false;
        }

        _blockStart = _position;
        _blockLimit = Math.Min(_blockStart + _blockSize, _capacity);
        _base = _staging!.Reserve((int)(_blockLimit - _blockStart)) - _blockStart;
        _position += SegmentFormat.BlockHeaderSize;
        _crcEnd = _position;
        _crcRegister = Crc32C.Begin();
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowTooLarge(int length) => throw new WalEventTooLargeException(Path, length, _maxPayload);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadId(long eventId)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_claimAt >= 0)
        {
            throw new InvalidOperationException($"A claim is open in segment '{Path}' (event {_claimId}): publish or cancel it before the next append or claim.");
        }

        if (!_started)
        {
            throw new InvalidOperationException($"Segment '{Path}' has not been started; call Start before appending.");
        }

        throw new WalEventIdException(Path, eventId, _recordCount > 0 ? _lastId : _previousId);
    }

    private static void TryDelete(Disk disk, string path)
    {
        try
        {
            disk.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
