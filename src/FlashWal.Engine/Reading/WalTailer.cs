using System.Buffers.Binary;
using System.Diagnostics;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Reading;

/// <summary>
/// Follows a log that a recorder (in this process or another) is still writing: each event becomes
/// readable as soon as its block is sealed (committed), never earlier; segments are followed as the
/// recorder rotates; the tailer ends when the recorder closes the log or goes away.
/// </summary>
/// <remarks>
/// <para><b>What is read.</b> Each segment is mapped read-only, whole (segments are preallocated to
/// their capacity). At the next block position the tailer reads the first 8 header bytes (magic and
/// length) with an acquire load: the writer stores them last, with a release store, after the rest of
/// the header and the records, so once they are non-zero the whole block is there. The block is then
/// judged by the scanner's own rules (<see cref="SegmentScanner"/>: header CRC, chain seed = the
/// previous block's chain CRC, data CRC, records) before any of its events is handed out. Zeros
/// there mean nothing new yet.</para>
/// <para><b>Moving on.</b> Segment <i>i</i> is finished when it has a valid summary and the tailer has
/// read up to its data end, or when segment <i>i + 1</i> has a sealed block 0 (the writer seals
/// <i>i</i>'s last block before it writes into <i>i + 1</i>; the tailer then looks at <i>i</i> once
/// more, since its first look may predate that last seal). The mere existence of <i>i + 1</i> means
/// nothing: empty segments are prepared ahead. Block 0 of every segment must carry the chain CRC the
/// previous segment ended with. A segment is also judged outside its blocks, by the scanner's own
/// checks and in its order, so that the tailer reports the damage verify and strict recovery report:
/// reserved header bytes and the file's length, before a block failure is reported and when the
/// segment is left; a closed segment's summary against its blocks and the zeros after its data, once
/// it is read to its data end; the summary area of a segment left without a summary only at rest (a
/// live recorder writes it after moving on).</para>
/// <para><b>End of log.</b> A recorder holds an exclusive lock on <c>wal.lock</c>, which the kernel
/// releases if its process dies. While idle the tailer probes it (<see cref="LiveLog.IsWriterPresent"/>,
/// at most every <see cref="TailerOptions.LockProbeInterval"/>). Once it is free, everything the
/// recorder wrote is visible, so the tailer looks once more and, if nothing is left, ends:
/// <see cref="TailerState.Closed"/> when the last segment was closed with a summary (or the recorder
/// discarded its unused active segment, as it does on a clean close), otherwise
/// <see cref="TailerState.WriterGone"/>; unsealed bytes after the last sealed block are then a torn
/// tail that was never committed, not an error.</para>
/// <para><b>Cost.</b> Reading an event allocates nothing and makes no system call; payloads are views
/// of the mapping, valid until the next call on the tailer. Waiting spins briefly, then sleeps 1 ms
/// doubling up to <see cref="TailerOptions.MaxIdleSleep"/>. One thread at a time uses a tailer.</para>
/// </remarks>
public sealed unsafe class WalTailer : IDisposable
{
    /// <summary>How often a block that fails its checks is looked at again before it is called damage...</summary>
    private const int Rechecks = 3;

    /// <summary>... and for how long at least, counted from the first look (on later calls: none of them waits).</summary>
    private static readonly long RecheckTicks = Stopwatch.Frequency * 3 / 1000;

    /// <summary>Spins (SpinWait.SpinOnce, without sleeping) before a wait starts sleeping: tens of microseconds.</summary>
    private const int SpinsBeforeSleep = 30;

    private readonly long _from;
    private readonly TailerOptions _options;
    private readonly long _probeTicks;
    private readonly int _maxSleepMs;
    private TailSegment? _current;
    private TailSegment? _next;        // segment i + 1, mapped while waiting for its block 0
    private LogId? _logId;
    private SegmentSummary? _summary;  // the current segment's valid summary, once seen
    private long _position;            // offset of the next block in the current segment
    private int _blockIndex;           // index of the next block
    private uint? _chain;              // the seed the next block must carry; null when unknown (started in mid-log)
    private long _previousId;          // last event id of the blocks passed so far
    private long _segmentRecords;      // events in the current segment's blocks passed so far
    private long _segmentFirstId;      // first event id of the current segment (0 before its block 0)
    private bool _judgedBeforeBlocks;  // the current segment's checks before its blocks made, its summary area included
    private bool _judgedClosed;        // the current segment closed, read to its data end and judged whole
    private long _recordOffset;        // next record of the current block
    private int _recordsLeft;
    private long _tornAt = -1;         // a block position found torn after the writer died
    private long _failingAt = -1;      // a block position that failed its checks, looked at again until the failure is settled
    private long _failingSince;        // Stopwatch timestamp of the first failed look there
    private int _failingLooks;
    private long _nextProbe;           // Stopwatch timestamp before which the lock is not probed again
    private bool _disposed;

    private WalTailer(string directory, long fromEventId, TailerOptions options)
    {
        Directory = directory;
        _from = fromEventId;
        _options = options;
        _probeTicks = (long)(options.LockProbeInterval.TotalSeconds * Stopwatch.Frequency);
        _maxSleepMs = (int)options.MaxIdleSleep.TotalMilliseconds;
    }

    /// <summary>Full path of the followed directory.</summary>
    public string Directory { get; }

    /// <summary>Id of the last event handed out (0 before the first).</summary>
    public long LastEventId { get; private set; }

    /// <summary>Following, or ended and how.</summary>
    public TailerState State { get; private set; }

    /// <summary>Index of the segment being read, or last read once the log has ended (-1 before the first one appears).</summary>
    public long SegmentIndex { get; private set; } = -1;

    /// <summary>Full path of the segment file being read; null before the first one appears and once the log has ended.</summary>
    public string? SegmentPath => _current?.Path;

    /// <summary>
    /// Starts following the log in <paramref name="directory"/> from the first event whose id is ≥
    /// <paramref name="fromEventId"/> (from the oldest segment present when it is older than them).
    /// Reads nothing yet; a directory without segments is waited on.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalNotADirectoryException">The path is a file.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fromEventId"/> is below 1, or an option is out of range (named).</exception>
    public static WalTailer Open(string directory, long fromEventId = 1, TailerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromEventId, SegmentFormat.MinEventId);
        options ??= new TailerOptions();
        options.Validate();
        directory = Path.GetFullPath(directory);
        if (File.Exists(directory))
        {
            throw new WalNotADirectoryException(directory);
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw MissingPath.Error(directory);
        }

        return new WalTailer(directory, fromEventId, options);
    }

    /// <summary>
    /// Reads the next committed event without waiting. False when none is committed right now, or
    /// when the log has ended (see <see cref="State"/>). The event's payload is valid until the next
    /// call on this tailer.
    /// </summary>
    /// <remarks>
    /// A block that fails its checks is not judged at the first look: a write may still be on its way.
    /// Calls return false while it is looked at again, for at least 3 ms and three more calls, and a
    /// later call throws (or, once the recorder is gone and the log ends there, the tailer ends).
    /// </remarks>
    /// <exception cref="WalCorruptionException">A sealed block, a summary or the chain between segments is damaged.</exception>
    public bool TryReadNext(out WalEvent next)
    {
        ThrowIfDisposed();
        if (!Prime())
        {
            next = default;
            return false;
        }

        next = WalEvent.At(_current!.Base + _recordOffset, out int size);
        _recordOffset += size;
        _recordsLeft--;
        LastEventId = next.EventId;
        return true;
    }

    /// <summary>
    /// Reads the next sealed block whole, without waiting, verified as <see cref="TryReadNext"/>
    /// verifies the events in it (the block's checks, the chain, the segment around it); blocks whose
    /// events all precede the start id are passed over. False when none is sealed right now, or when
    /// the log has ended (<see cref="State"/>). The block's bytes are valid until the next call on this
    /// tailer. For a reader that copies blocks as they are (replication); one tailer hands out either
    /// events or blocks.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some events of the current block were handed out by <see cref="TryReadNext"/> and others are left.</exception>
    /// <exception cref="WalCorruptionException">A sealed block, a summary or the chain between segments is damaged.</exception>
    public bool TryReadNextBlock(out SealedBlock block)
    {
        ThrowIfDisposed();
        if (_recordsLeft > 0)
        {
            throw new InvalidOperationException($"The tailer of '{Directory}' is handing out the events of a block; blocks are read from a tailer that reads no events.");
        }

        while (State == TailerState.Following)
        {
            if (_current is null)
            {
                if (!TryStart())
                {
                    break;
                }

                continue;
            }

            TailSegment segment = _current;
            long start = _position;
            if (!Step())
            {
                break;
            }

            // A step either entered a block of this segment (it moved the position on) or moved to
            // another segment, or ended the log.
            if (_current == segment && _position > start)
            {
                _recordsLeft = 0;
                BlockHeader header = BlockHeader.Read(new ReadOnlySpan<byte>(segment.Base + start, SegmentFormat.BlockHeaderSize));
                if (header.LastEventId < _from)
                {
                    continue;
                }

                LastEventId = header.LastEventId;
                block = new SealedBlock(segment.Index, start, new ReadOnlySpan<byte>(segment.Base + start, (int)(_position - start)),
                    header.RecordCount, header.FirstEventId, header.LastEventId, header.ChainCrc);
                return true;
            }
        }

        block = default;
        return false;
    }

    /// <summary>
    /// Reads the next event, waiting for it to be committed. False only when the log has ended
    /// (<see cref="State"/> says how) and every committed event has been read. The payload is valid
    /// until the next call on this tailer.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (seen within a millisecond or so).</exception>
    /// <exception cref="WalCorruptionException">A sealed block, a summary or the chain between segments is damaged.</exception>
    public bool ReadNext(out WalEvent next, CancellationToken cancellationToken = default)
    {
        var idle = default(IdleWait);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryReadNext(out next))
            {
                return true;
            }

            if (State != TailerState.Following)
            {
                return false;
            }

            idle.Wait(_maxSleepMs, _maxSleepMs, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until an event is ready for <see cref="TryReadNext"/> (true), or until
    /// <paramref name="timeout"/> passes or the log ends (false; <see cref="State"/> tells which).
    /// Reads nothing.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="WalCorruptionException">A sealed block, a summary or the chain between segments is damaged.</exception>
    public bool WaitForNext(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        long start = Stopwatch.GetTimestamp();
        var idle = default(IdleWait);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Prime())
            {
                return true;
            }

            TimeSpan left = timeout - Stopwatch.GetElapsedTime(start);
            if (State != TailerState.Following || left <= TimeSpan.Zero)
            {
                return false;
            }

            idle.Wait(_maxSleepMs, (int)Math.Ceiling(left.TotalMilliseconds), cancellationToken);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(WalTailer), $"The tailer of '{Directory}' has been disposed.");
        }
    }

    /// <summary>Unmaps everything. Payload spans handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        _disposed = true;
        Release();
    }

    /// <summary>
    /// Makes the next record to hand out current (skipping those below the start id). False when
    /// there is none now; never waits.
    /// </summary>
    private bool Prime()
    {
        while (true)
        {
            while (_recordsLeft > 0)
            {
                byte* record = _current!.Base + _recordOffset;
                if (BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(record + 8, 8)) >= _from)
                {
                    return true;
                }

                _recordOffset += SegmentFormat.RecordSize((int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(record, 4)));
                _recordsLeft--;
            }

            if (State != TailerState.Following || !Step())
            {
                return false;
            }
        }
    }

    /// <summary>
    /// One step forward without waiting: into the next sealed block, or into the next segment, or,
    /// when idle and a probe is due, to the end of the log. True when the position changed.
    /// </summary>
    private bool Step()
    {
        if (_current is null)
        {
            return TryStart();
        }

        return TryEnterBlock() || TryMoveOn() || ProbeEnd();
    }

    /// <summary>
    /// Finds the segment to start in: the oldest one present, skipping whole closed segments whose
    /// summary shows they end before the start id (their summaries carry the chain and the last id on).
    /// </summary>
    private bool TryStart()
    {
        IReadOnlyList<(long Index, string Path)> segments = WalDirectory.List(Directory).Segments;
        if (segments.Count > 0 && _from == SegmentFormat.MinEventId && !LiveLog.IsWriterPresent(Directory) && HeadDamageAtRest(segments[0].Index) is { } head)
        {
            throw new WalCorruptionException(head); // strict recovery from the first event stops there too
        }

        for (int i = 0; i < segments.Count; i++)
        {
            long index = segments[i].Index;
            TailSegment? segment = OpenSegment(index);
            if (segment is null)
            {
                continue; // removed (retention) since the listing
            }

            bool followed = i + 1 < segments.Count && segments[i + 1].Index == index + 1;
            if (followed && ReadSummary(segment) is { } summary && (summary.RecordCount == 0 || summary.LastEventId < _from))
            {
                CheckLog(segment);
                _chain = summary.FinalChain;
                _previousId = Math.Max(_previousId, summary.LastEventId);
                segment.Dispose();
                continue;
            }

            Enter(segment);
            return true;
        }

        return false;
    }

    /// <summary>Enters the block at the current position if it is sealed, after checking it. False when none is there yet.</summary>
    private bool TryEnterBlock()
    {
        TailSegment segment = _current!;
        long limit = _summary is { } closed ? Math.Min(closed.DataEnd, segment.Limit) : segment.Limit;
        if (_position + SegmentFormat.BlockHeaderSize > limit)
        {
            return false; // full, or at the closed segment's data end (checked when moving on)
        }

        // Acquire: the writer writes a block's magic last (SegmentWriter.WriteBlock), so a block whose
        // magic is still zero is not there yet, whatever else of it is.
        if (Volatile.Read(ref *(uint*)(segment.Base + _position)) == 0)
        {
            if (_summary is { } summary)
            {
                throw new WalCorruptionException(SummaryDisagrees(segment, summary)!); // the data stops before the summary's end
            }

            return false;
        }

        if (_position == _tornAt)
        {
            return false;
        }

        Finding? problem = CheckBlock(segment, out BlockHeader block);
        if (problem is not null)
        {
            // A correct writer writes a magic only when the rest of its block is there, so this is
            // damage; looking again on later calls, for a few milliseconds, makes sure it is not a
            // write still on its way (the kernel copies the magic's bytes in no promised order).
            if (!FailureSettled())
            {
                return false;
            }

            bool atRest = !LiveLog.IsWriterPresent(Directory);
            ThrowIfDamagedBeforeBlocks(segment, judgeSummary: atRest || _summary is not null); // what the walk reports first
            if (_summary is null && atRest && EndsHereAtRest(CatalogAtRest()))
            {
                // A seal its writer did not finish (never committed), or what a power cut left after the
                // log's durable point (FORMAT.md §9.1): the log ends here, not damage.
                _tornAt = _position;
                return false;
            }

            throw new WalCorruptionException(problem);
        }

        long start = _position;
        _position += block.Length;
        _blockIndex++;
        _chain = block.ChainCrc;
        _previousId = block.LastEventId;
        _segmentRecords += block.RecordCount;
        if (_segmentFirstId == 0)
        {
            _segmentFirstId = block.FirstEventId;
        }

        if (block.LastEventId >= _from)
        {
            _recordOffset = start + SegmentFormat.BlockHeaderSize;
            _recordsLeft = block.RecordCount;
        }

        return true;
    }

    /// <summary>
    /// Whether the block at the current position has failed its checks for long enough to be judged:
    /// at least <see cref="Rechecks"/> more looks, over at least 3 ms from the first. Never waits.
    /// </summary>
    private bool FailureSettled()
    {
        long now = Stopwatch.GetTimestamp();
        if (_failingAt != _position)
        {
            _failingAt = _position;
            _failingSince = now;
            _failingLooks = 0;
            return false;
        }

        return ++_failingLooks >= Rechecks && now - _failingSince >= RecheckTicks;
    }

    /// <summary>Whether a block failed its checks at the current position and is still being looked at again.</summary>
    private bool FailureUnsettled => _failingAt == _position && _tornAt != _position;

    /// <summary>The scanner's judgement of the block at the current position, plus the chain link into block 0.</summary>
    private Finding? CheckBlock(TailSegment segment, out BlockHeader block)
    {
        Finding? problem = SegmentScanner.CheckBlockAt(segment.Scan, segment.Base, segment.Length, _position, _blockIndex, segment.Header,
            _blockIndex == 0 ? null : _chain, _previousId, out block);
        if (problem is null && _blockIndex == 0 && _chain is uint seed && block.ChainSeed != seed)
        {
            problem = segment.Index == 0
                ? SegmentLink.GenesisSeedWrong(segment.Path, seed, block.ChainSeed)
                : SegmentLink.ChainNotContinued(segment.Path, segment.Index - 1, seed, block.ChainSeed);
        }

        return problem;
    }

    /// <summary>
    /// Moves to the next segment once the current one is finished: closed and read to its data end,
    /// or followed by a segment whose block 0 is sealed. False when it is not finished yet.
    /// </summary>
    private bool TryMoveOn()
    {
        TailSegment segment = _current!;
        if (RefreshSummary() is { } summary)
        {
            if (_position < summary.DataEnd)
            {
                return TryEnterBlock(); // blocks sealed before the summary: seen now, or damage
            }

            if (!_judgedClosed)
            {
                // Read to its data end: judged once, in the order of the scanner's walk.
                ThrowIfDamagedBeforeBlocks(segment, judgeSummary: true);
                CheckSummary(segment, summary);
                ThrowIfDataAfterEnd(segment, summary);
                _judgedClosed = true;
            }

            // Opened afresh, never from _next: a recorder reopening the log after a crash discards the
            // empty segments its predecessor prepared and creates the next index again.
            _next?.Dispose();
            _next = null;
            TailSegment? following = OpenSegment(segment.Index + 1);
            if (following is null)
            {
                return false;
            }

            Enter(following);
            return true;
        }

        _next ??= OpenSegment(segment.Index + 1);
        if (_next is null || !HasBlockZero(_next))
        {
            return false; // not created yet, or prepared and still empty
        }

        // The writer sealed this segment's last block before block 0 of the next one; a look from
        // now on sees it, and the look that brought us here may have come just before it.
        if (TryEnterBlock())
        {
            return true;
        }

        if (FailureUnsettled)
        {
            return false; // the block here failed its checks: judged first, never skipped
        }

        // Left without a summary: what lies outside its blocks is judged now; the summary area only at
        // rest (a live recorder writes the summary after it has moved on to the next segment).
        ThrowIfDamagedBeforeBlocks(segment, judgeSummary: !LiveLog.IsWriterPresent(Directory));
        TailSegment next = _next;
        _next = null;
        Enter(next);
        return true;
    }

    /// <summary>
    /// When idle and a probe is due: whether the recorder is gone, and if so, after one more look at
    /// everything it may have written last, ends the log with the right state.
    /// </summary>
    private bool ProbeEnd()
    {
        long now = Stopwatch.GetTimestamp();
        if (now < _nextProbe)
        {
            return false;
        }

        _nextProbe = now + _probeTicks;
        bool held = LiveLog.IsWriterPresent(Directory);
        TailSegment segment = _current!;
        if (RefreshStaleViews(segment, out bool currentGone))
        {
            return true;
        }

        if (held)
        {
            return !currentGone && TryMoveOn();
        }

        // The lock is free: the recorder has stopped, and every byte it wrote is in the page cache.
        if (!currentGone && (TryEnterBlock() || TryMoveOn()))
        {
            _nextProbe = 0; // keep draining; probe again as soon as it is idle
            return true;
        }

        if (!currentGone && FailureUnsettled)
        {
            _nextProbe = 0; // a block ahead is being looked at again: its judgement, not the lock, ends the log
            return false;
        }

        EndAtRest(segment, currentGone);
        return false;
    }

    /// <summary>
    /// A view of a segment without blocks may be stale: a recorder reopening the log after a crash
    /// deletes the empty segments its predecessor left behind and creates those indices again. Checked
    /// after the lock, so that an end is decided on the files as the last writer left them. True when
    /// the current segment was entered again from its new file; <paramref name="currentGone"/> when it
    /// is gone for good.
    /// </summary>
    private bool RefreshStaleViews(TailSegment segment, out bool currentGone)
    {
        currentGone = false;
        if (_next is not null && !HasBlockZero(_next) && !_next.IsStillOnDisk())
        {
            _next.Dispose();
            _next = null;
        }

        if (_blockIndex == 0 && _summary is null && !segment.IsStillOnDisk())
        {
            TailSegment? fresh = OpenSegment(segment.Index);
            if (fresh is not null)
            {
                Enter(fresh);
                return true;
            }

            currentGone = true;
        }

        return false;
    }

    /// <summary>
    /// The recorder is gone and nothing more will come: the end of the log is judged at rest (damage
    /// outside the last segment's blocks, a missing segment after a closed one, durable events the
    /// segments no longer hold all throw) and the tailer ends, Closed or WriterGone.
    /// </summary>
    private void EndAtRest(TailSegment segment, bool currentGone)
    {
        if (!currentGone)
        {
            ThrowIfDamagedBeforeBlocks(segment, judgeSummary: true); // the segment where the log ends, at rest
        }

        // The log at rest, read once for the judgements that need all of it.
        WalCatalog? catalog = CatalogAtRest();
        if (_summary is not null)
        {
            ThrowIfSegmentMissing(segment.Index, catalog);
        }

        if (catalog?.Findings.FirstOrDefault(f => f.Code == FindingCode.DurableEventsMissing) is { } lost)
        {
            throw new WalCorruptionException(lost); // last, as recovery checks the checkpoint: it says events the segments no longer hold were durable
        }

        // Empty and removed: the recorder discarded its unused active segment when it closed (a crash
        // leaves it in place, and only a new recorder, under the lock, removes it).
        State = _summary is not null || currentGone ? TailerState.Closed : TailerState.WriterGone;
        Release();
    }

    /// <summary>Whether block 0 of <paramref name="segment"/> is written (an acquire load of its magic, which is written last).</summary>
    private static bool HasBlockZero(TailSegment segment) =>
        segment.Limit >= SegmentFormat.DataOffset + SegmentFormat.BlockHeaderSize
        && Volatile.Read(ref *(uint*)(segment.Base + SegmentFormat.DataOffset)) != 0;

    /// <summary>A closed segment followed by a gap and then more segments: the next one is missing (removed by retention while the tailer was behind, or damage).</summary>
    private void ThrowIfSegmentMissing(long index, WalCatalog? catalog)
    {
        // The first segment listed after the gap: the range before it is what is missing.
        long? later = WalDirectory.List(Directory).Segments.Select(s => (long?)s.Index).FirstOrDefault(i => i > index + 1);
        if (later is long next && SegmentLink.CheckIndices(Directory, index, next) is { } missing && !EndsHereAtRest(catalog))
        {
            throw new WalCorruptionException(MisnamedAtRest(index + 1, catalog) ?? missing); // not missing: under another name
        }
    }

    /// <summary>
    /// Segment <paramref name="index"/> opened by name; at rest, a file that names another index is
    /// reported as the catalog (which orders segments by the index their headers state) and strict
    /// recovery report it: the file whose header holds <paramref name="index"/> under another name.
    /// </summary>
    private TailSegment? OpenSegment(long index)
    {
        try
        {
            return TailSegment.TryOpen(Directory, index);
        }
        catch (WalCorruptionException e) when (e.Finding.Code == FindingCode.SegmentNameMismatch && !LiveLog.IsWriterPresent(Directory)
            && MisnamedAtRest(index, CatalogAtRest()) is { } misnamed && misnamed.File != e.Finding.File)
        {
            throw new WalCorruptionException(misnamed);
        }
    }

    /// <summary>At rest: the name-mismatch finding of the file whose header states segment <paramref name="index"/>, when its name says another.</summary>
    private static Finding? MisnamedAtRest(long index, WalCatalog? catalog) =>
        catalog is null ? null : Misnamed(catalog, i => i == index);

    /// <summary>The first name-mismatch finding of a segment whose header states an index <paramref name="where"/> accepts.</summary>
    private static Finding? Misnamed(WalCatalog catalog, Func<long, bool> where) =>
        catalog.Segments.Where(s => where(s.SegmentIndex)).SelectMany(s => s.Findings).FirstOrDefault(f => f.Code == FindingCode.SegmentNameMismatch);

    /// <summary>
    /// At rest, before the first segment present (<paramref name="firstListed"/>, by name): a segment
    /// the catalog finds there under another name, or the segments it finds missing at the head (the
    /// checkpoint's first index, FORMAT.md §10).
    /// </summary>
    private Finding? HeadDamageAtRest(long firstListed)
    {
        if (CatalogAtRest() is not { } catalog)
        {
            return null;
        }

        return Misnamed(catalog, i => i < firstListed)
            ?? catalog.Findings.FirstOrDefault(f => f.Code == FindingCode.SegmentMissing
                && SegmentFileName.TryParse(Path.GetFileName(f.File), out long missing) && missing < firstListed);
    }

    /// <summary>The catalog of the directory (read now), or null when it cannot be read.</summary>
    private WalCatalog? CatalogAtRest()
    {
        try
        {
            return WalCatalog.Open(Directory);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// With the writer gone: whether the log, as the catalog judges it at rest, ends where this tailer
    /// stands, so that the failure ahead is the end of the log, as the verifier and recovery say, and
    /// not damage: a torn tail that starts here in the current segment (a seal a killed writer did not
    /// finish, with no valid block after it), or a torn end after the durable point that every event
    /// before the failure reaches (what a power cut leaves, FORMAT.md §9.1).
    /// </summary>
    private bool EndsHereAtRest(WalCatalog? catalog)
    {
        if (catalog is null)
        {
            return false;
        }

        if (catalog.TornEnd is { } end)
        {
            return _previousId >= end.LastIntactEventId;
        }

        SegmentScan? scan = catalog.Segments.LastOrDefault(s => s.Path == _current!.Path);
        return scan is { State: SegmentState.TornTail } && scan.ValidEnd == _position
            && catalog.Segments.All(s => s.SegmentIndex <= scan.SegmentIndex || s.BlockOffsets.Count == 0);
    }

    /// <summary>The current segment's summary once it is there and valid; a partly written one is looked at again later.</summary>
    private SegmentSummary? RefreshSummary()
    {
        _summary ??= ReadSummary(_current!);
        return _summary;
    }

    /// <summary>
    /// The summary of <paramref name="segment"/>, or null while there is none (or it is not valid
    /// yet: the recorder writes it with one 64-byte write, which a reader may see half done).
    /// </summary>
    private static SegmentSummary? ReadSummary(TailSegment segment)
    {
        if (segment.Length < SegmentFormat.SummaryOffset + SegmentFormat.SummarySize)
        {
            return null;
        }

        byte* at = segment.Base + SegmentFormat.SummaryOffset;
        if (Volatile.Read(ref *(uint*)at) != SegmentFormat.SummaryMagic)
        {
            return null;
        }

        Span<byte> copy = stackalloc byte[SegmentFormat.SummarySize];
        new ReadOnlySpan<byte>(at, SegmentFormat.SummarySize).CopyTo(copy);
        return SegmentSummary.TryRead(copy, out _);
    }

    /// <summary>
    /// The checks the scanner makes before it walks a segment's blocks (reserved bytes, the summary
    /// area when <paramref name="judgeSummary"/>, the file's length), so that the tailer reports the
    /// same first damage as the walk: once per segment, or again at rest after a live look.
    /// </summary>
    private void ThrowIfDamagedBeforeBlocks(TailSegment segment, bool judgeSummary)
    {
        if (_judgedBeforeBlocks)
        {
            return;
        }

        if (SegmentScanner.DamageBeforeBlocks(segment.Path, segment.Base, segment.Length, segment.Header, judgeSummary) is { } damage)
        {
            throw new WalCorruptionException(damage);
        }

        _judgedBeforeBlocks = judgeSummary;
    }

    /// <summary>A closed segment read to its data end: only zeros may follow the data (the scanner's rule).</summary>
    private static void ThrowIfDataAfterEnd(TailSegment segment, SegmentSummary summary)
    {
        if (SegmentScanner.AfterData(segment.Path, segment.Base, summary.DataEnd, segment.Limit, summary) is { Severity: >= FindingSeverity.Damage } stray)
        {
            throw new WalCorruptionException(stray);
        }
    }

    /// <summary>The summary of a segment read to its data end must agree with what was read.</summary>
    private void CheckSummary(TailSegment segment, SegmentSummary summary)
    {
        if (SummaryDisagrees(segment, summary) is { } mismatch)
        {
            throw new WalCorruptionException(mismatch);
        }

        _chain = summary.FinalChain; // an empty closed segment entered without a known chain passes its seed on
    }

    /// <summary>The scanner's summary check against the blocks read so far in <paramref name="segment"/>.</summary>
    private Finding? SummaryDisagrees(TailSegment segment, SegmentSummary summary) =>
        SegmentScanner.SummaryDisagrees(segment.Path, summary, _position, _blockIndex, _segmentRecords, _segmentFirstId,
            _segmentRecords > 0 ? _previousId : 0, _blockIndex > 0 ? _chain : null);

    private void Enter(TailSegment segment)
    {
        try
        {
            CheckLog(segment);
        }
        catch
        {
            segment.Dispose();
            throw;
        }

        _current?.Dispose();
        _current = segment;
        SegmentIndex = segment.Index;
        _summary = null;
        _position = SegmentFormat.DataOffset;
        _blockIndex = 0;
        _segmentRecords = 0;
        _segmentFirstId = 0;
        _judgedBeforeBlocks = false;
        _judgedClosed = false;
        _recordsLeft = 0;
        _tornAt = -1;
        _failingAt = -1;
        if (segment.Index == 0 && _chain is null)
        {
            _chain = SegmentFormat.GenesisChainSeed(segment.Header.LogId);
        }
    }

    private void CheckLog(TailSegment segment)
    {
        LogId log = segment.Header.LogId;
        _logId ??= log;
        if (_logId.Value != log)
        {
            throw new WalCorruptionException(SegmentLink.Foreign(segment.Path, _logId, log));
        }
    }

    private void Release()
    {
        _recordsLeft = 0;
        _current?.Dispose();
        _current = null;
        _next?.Dispose();
        _next = null;
    }

    /// <summary>
    /// Waiting that costs nothing while idle: a few spins (a commit often follows within microseconds),
    /// then sleeps of 1 ms doubling up to the cap while nothing changes. Cancellation wakes it at once.
    /// </summary>
    private struct IdleWait
    {
        private SpinWait _spin;
        private int _sleepMs;

        public void Wait(int capMs, int leftMs, CancellationToken cancellationToken)
        {
            if (_spin.Count < SpinsBeforeSleep)
            {
                _spin.SpinOnce(sleep1Threshold: -1);
                return;
            }

            _sleepMs = Math.Min(_sleepMs == 0 ? 1 : _sleepMs * 2, capMs);
            int ms = Math.Max(1, Math.Min(_sleepMs, leftMs));
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.WaitHandle.WaitOne(ms);
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                Thread.Sleep(ms);
            }
        }
    }
}
