using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Storage;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>
/// Records events into a WAL directory: appends on one writer thread with no lock, allocation, system
/// call or page fault, into a staging ring of resident memory; a flusher thread writes sealed blocks
/// into the segment files; rotations take a prepared segment from a lock-free ring; a background
/// maintainer closes rotated segments, flushes by policy, checkpoints and applies retention.
/// </summary>
/// <remarks>
/// <para>An event is <b>appended</b> (in memory), then <b>committed</b> (its block is sealed and
/// written into the segment file, where readers see it and a killed process cannot lose it:
/// <see cref="Commit"/> returns once that is so; a block that appends fill is sealed at once and
/// written by the flusher within about a millisecond), then <b>durable</b> (flushed: it survives a
/// power loss). <see cref="CommittedEventId"/> and <see cref="DurableEventId"/> are the watermarks;
/// <see cref="WaitForDurable"/> waits for the latter. Nothing is reported committed or durable before
/// it is.</para>
/// <para>Thread model: <see cref="Append(ReadOnlySpan{byte}, ushort)"/>, <see cref="Commit"/>,
/// <see cref="Flush"/> and <see cref="Dispose"/> belong to one writer thread at a time (several producers feed one
/// recorder through a queue drained by its writer thread). The watermarks, <see cref="WaitForDurable"/>
/// and <see cref="GetTelemetry"/> may be used from any thread.</para>
/// </remarks>
public sealed class WalRecorder : IDisposable, IStagingListener
{
    private readonly WalRecorderOptions _options;
    private readonly SegmentOptions _segmentOptions;
    private readonly DirectoryLock _lock;
    private readonly SegmentPreparer? _preparer;
    private readonly SegmentMaintainer _maintainer;
    private readonly RecorderTelemetry _telemetry;
    private readonly bool _measure;
    private readonly IDisposable _meterRegistration;
    private readonly StagingRing _ring;
    private readonly EventClock _clock = new();
    private readonly BlockFlusher _flusher;
    private SegmentWriter _writer;
    private long _lastId;
    private long _committedId; // written by whoever drains the staging ring
    private long _durableId;
    private long _eventsSinceTelemetry;
    private long _rotations; // the writer's, beside its other fields: a rotation touches no telemetry memory (see RotationTiming)
    private static int s_rotationPathCompiled;
    private readonly WatermarkWait _durableWait;
    private ReplicationMark? _replication;
    private bool _closed;
    private bool _stopped; // closed or halted: the one flag the hot path reads
    private volatile Exception? _halt; // why recording stopped: a sync (or a close) that failed
    private readonly CountdownEvent _placed; // set once every background thread has applied BackgroundThreads

    private WalRecorder(string directory, WalRecorderOptions options, DirectoryLock directoryLock, ResumePoint tail, IReadOnlyList<Finding> openFindings)
    {
        Directory = directory;
        _options = options;
        _segmentOptions = options.Segments;
        _lock = directoryLock;
        _telemetry = new RecorderTelemetry();
        _durableWait = new WatermarkWait(() => DurableEventId, ThrowIfBackgroundFailed);
        _measure = options.MeasureAppendLatency;
        LogId = tail.LogId;
        OpenFindings = openFindings;
        // Ids the checkpoint says were committed but a crash lost (never durable) are not handed out
        // again (FORMAT.md §14 step 6). The watermarks stay what the segments hold; the checkpoints
        // this recorder writes carry the lost ids on until an event past them is in a segment.
        _lastId = tail.NextEventId - 1;
        _committedId = tail.LastEventId;
        _durableId = tail.LastEventId; // recovery flushed every segment it closed
        CommittedBeyond = tail.CommittedBeyond;
        _ring = new StagingRing(StagingRing.SizeFor(options.BlockSize), options.Prefault, this);
        _placed = new CountdownEvent(options.UsePreparer ? 3 : 2);
        _flusher = new BlockFlusher(_ring, Halt, () => PlaceBackgroundThread("flusher"));
        _writer = SegmentWriter.Create(directory, tail.NextSegmentIndex, tail.LogId, _segmentOptions);
        _writer.Start(tail.ChainValue, tail.NextEventId - 1, _ring);
        Mark.Publish(_writer, _writer.WrittenEnd, _committedId);
        if (options.UsePreparer)
        {
            _preparer = new SegmentPreparer(directory, tail.LogId, _segmentOptions, _telemetry.Preparer, placeThread: () => PlaceBackgroundThread("preparer"));
        }

        _maintainer = new SegmentMaintainer(this, options, _telemetry) { FirstSegmentIndex = tail.FirstSegmentIndex };
        _meterRegistration = FlashWalMeter.Register(GetTelemetry);
    }

    /// <summary>
    /// Run first by each background thread: it places itself as <see cref="WalRecorderOptions.BackgroundThreads"/>
    /// says, and <see cref="Open"/> returns only when all have, so that none runs beside the writer
    /// (a new thread starts on its creator's cores) once appends begin.
    /// </summary>
    internal void PlaceBackgroundThread(string thread)
    {
        try
        {
            _telemetry.PlaceBackgroundThread(_options.BackgroundThreads, thread);
        }
        finally
        {
            _placed.Signal();
        }
    }

    /// <summary>Full path of the WAL directory.</summary>
    public string Directory { get; }

    /// <summary>The log's id.</summary>
    public LogId LogId { get; }

    /// <summary>What opening found: a missing or damaged checkpoint, a torn tail it closed, a checkpoint that disagrees with the segments.</summary>
    public IReadOnlyList<Finding> OpenFindings { get; }

    /// <summary>Id of the last appended event (0 when the log is empty).</summary>
    public long LastEventId => _lastId;

    /// <summary>
    /// Every event up to this id is in a sealed block written into its segment file: it survives a
    /// killed process. Any thread. It advances at each <see cref="Commit"/> and whenever the flusher
    /// has written a block that appends filled.
    /// </summary>
    public long CommittedEventId => Volatile.Read(ref _committedId);

    /// <summary>Ids committed before a machine crash that lost them (see <see cref="ResumePoint.CommittedBeyond"/>); 0 when none.</summary>
    internal long CommittedBeyond { get; }

    /// <summary>Every event up to this id is flushed to stable storage: it survives a power loss. Any thread.</summary>
    public long DurableEventId => Volatile.Read(ref _durableId);

    /// <summary>
    /// The replicated watermark a shipper advances, once one is attached (<see cref="AttachReplication"/>);
    /// null while the log is not replicated.
    /// </summary>
    public ReplicationMark? Replication { get; private set; }

    /// <summary>Every event up to this id is held by a replica (<see cref="Replication"/>); 0 while none is attached. Any thread.</summary>
    public long ReplicatedEventId => Replication?.EventId ?? 0;

    /// <summary>Index of the segment being written.</summary>
    public long ActiveSegmentIndex => _writer.SegmentIndex;

    /// <summary>The options it runs with.</summary>
    public WalRecorderOptions Options => _options;

    /// <summary>The first error of the background maintainer, if any (a flush or close that failed).</summary>
    public Exception? BackgroundFailure => _maintainer.Failure;

    /// <summary>The last error writing the metadata checkpoint (a hint: recording goes on), if the last attempt failed.</summary>
    public Exception? CheckpointFailure => _maintainer.CheckpointFailure;

    internal CommitMark Mark { get; } = new();

    /// <summary>The writer's clock for event timestamps (re-anchored by the maintainer).</summary>
    internal EventClock Clock => _clock;

    /// <summary>
    /// Opens (or creates) the WAL in <paramref name="directory"/> for writing: locks it, closes a
    /// segment a crash left open, checks the checkpoint against the segments, and starts appending
    /// in a new segment after the last committed event.
    /// </summary>
    /// <exception cref="WalDirectoryLockedException">Another recorder writes the directory.</exception>
    /// <exception cref="WalNotADirectoryException">The path, or one of its parents, is a file (named).</exception>
    /// <exception cref="WalDirectoryNotWritableException">The directory cannot be created or written (read-only file system, permissions, a full disk or quota).</exception>
    /// <exception cref="WalCorruptionException">The end of the log is damaged: verify and repair it first.</exception>
    /// <exception cref="WalVersionException">The end of the log was written by a newer format version.</exception>
    /// <exception cref="WalAccessDeniedException">A segment it must continue from may not be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    public static WalRecorder Open(string directory, WalRecorderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new WalRecorderOptions();
        options.Validate();
        directory = Path.GetFullPath(directory);
        if (File.Exists(directory))
        {
            throw new WalNotADirectoryException(directory);
        }

        CreateDirectory(directory, options.Disk);
        DirectoryLock directoryLock = DirectoryLock.Acquire(directory);
        WalRecorder? recorder = null;
        try
        {
            MetaCheckpoint? checkpoint = MetaCheckpoint.Load(directory, out string? problem);
            ResumePoint tail = ResumePoint.Recover(directory, options.Disk); // everything before its first event is durable once it returns
            var findings = new List<Finding>();
            if (tail.TornTail is { } torn)
            {
                findings.Add(torn);
            }

            findings.AddRange(CheckpointCheck.Check(directory, tail.IsNewLog ? null : tail.LogId, tail.LastEventId, checkpoint, problem, "it was rebuilt from the segments"));
            directoryLock.RecordOwner(); // the log is continued: the first change to the directory
            CompileWriterPaths();
            recorder = new WalRecorder(directory, options, directoryLock, tail, findings);

            // The durable watermark starts at the log's last event: the checkpoint says so before any
            // event of this recorder can be reported durable (FORMAT.md §17, open).
            recorder._maintainer.WriteCheckpointNow();
            recorder._preparer?.Start(tail.NextSegmentIndex + 1);
            recorder._maintainer.Start();
            recorder._flusher.Start();
            recorder._placed.Wait(); // each background thread is where the options say before the first append (not disposed: the last thread may still be inside Signal)
            return recorder;
        }
        catch (Exception e)
        {
            recorder?._preparer?.Stop();
            recorder?._writer.Discard();
            recorder?._ring.Dispose();
            recorder?._meterRegistration.Dispose();
            directoryLock.Dispose();
            if (e is IOException or UnauthorizedAccessException
                && (WalFileErrors.IsNotWritable(e) || WalFileErrors.HasLessFreeSpaceThan(directory, options.SegmentSize)))
            {
                // Its first segment (or closing a crashed one) could not be written: a full disk, a
                // quota, a file system remounted read-only since the lock was taken.
                throw new WalDirectoryNotWritableException(directory, e);
            }

            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="directory"/> and its missing parents, each made durable in its parent,
    /// and syncs the parent of an existing one too (an earlier recorder may have created it without);
    /// what the file system refuses is a <see cref="WalException"/> naming the path.
    /// </summary>
    private static void CreateDirectory(string directory, Disk disk)
    {
        try
        {
            bool existed = System.IO.Directory.Exists(directory);
            disk.CreateDirectory(directory);
            if (existed && Path.GetDirectoryName(directory) is { } parent)
            {
                disk.SyncDirectory(parent);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (MissingPath.FileAmongParents(directory) is { } file)
            {
                throw new WalNotADirectoryException(file);
            }

            throw new WalDirectoryNotWritableException(directory, e);
        }
    }

    /// <summary>
    /// Appends an event with the next id, stamped by the recorder's event clock (the monotonic counter
    /// carried to wall time, re-anchored every 100 ms: see <see cref="RecorderTelemetrySnapshot.ClockMaxDriftNs"/>);
    /// returns the id. The payload is copied.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The payload exceeds the block size's limit.</exception>
    /// <exception cref="WalEventIdException">The last id was <see cref="long.MaxValue"/>: no id follows it.</exception>
    /// <exception cref="IOException">The active segment is full and the next one could not be created (a full disk: the message names the segment and the reason). The event is not appended; everything appended before is kept and the recorder can still be disposed.</exception>
    /// <exception cref="ObjectDisposedException">The recorder was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Append(ReadOnlySpan<byte> payload, ushort type = 0)
    {
        long id = _lastId + 1;
        AppendCore(id, _clock.UnixNs(), payload, type);
        return id;
    }

    /// <summary>
    /// Appends an event with the next id and the timestamp the caller took (nanoseconds since the Unix
    /// epoch: an exchange's time, or a clock the caller already read); returns the id. No clock is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long AppendAt(long timestampUnixNs, ReadOnlySpan<byte> payload, ushort type = 0)
    {
        long id = _lastId + 1;
        AppendCore(id, timestampUnixNs, payload, type);
        return id;
    }

    /// <summary>Appends an event whose payload is the bytes of <paramref name="payload"/>; returns its id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Append<T>(in T payload, ushort type = 0)
        where T : unmanaged
        => Append(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in payload)), type);

    /// <summary>
    /// Appends one event per element of <paramref name="events"/> (its bytes are the payload), with
    /// consecutive ids, one timestamp (one clock read for the whole batch) and one type; returns the
    /// first id (0 for an empty batch). The records are written a block's worth at a time, with one
    /// bounds check and one CRC-32C update per block, taken while the records are in the writer's
    /// cache (the flusher computes the block's CRC for single appends). A batch may span blocks and segments; it is
    /// committed like single appends (when its blocks fill, or at <see cref="Commit"/>). Batches are not
    /// timed into the append latency histogram.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">An element is larger than the block size's limit.</exception>
    public long AppendBatch<T>(ReadOnlySpan<T> events, ushort type = 0)
        where T : unmanaged
        => AppendBatchCore(MemoryMarshal.AsBytes(events), Unsafe.SizeOf<T>(), events.Length, type);

    /// <summary>
    /// <see cref="AppendBatch{T}"/> for payloads already laid out as bytes: <paramref name="payloads"/>
    /// holds one event after another, each <paramref name="payloadSize"/> bytes (the recorder host
    /// hands its producers' batches over this way). Returns the first id (0 for an empty batch).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payloadSize"/> is below 1, or the length of <paramref name="payloads"/> is not a multiple of it.</exception>
    /// <exception cref="WalEventTooLargeException">A payload is larger than the block size's limit.</exception>
    public long AppendBatch(ReadOnlySpan<byte> payloads, int payloadSize, ushort type = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(payloadSize, 1);
        if (payloads.Length % payloadSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(payloads), payloads.Length, $"A batch of payloads of {payloadSize} bytes each must be a multiple of {payloadSize} bytes long.");
        }

        return AppendBatchCore(payloads, payloadSize, payloads.Length / payloadSize, type);
    }

    private long AppendBatchCore(ReadOnlySpan<byte> bytes, int size, int count, ushort type)
    {
        if (_stopped)
        {
            ThrowIfStopped();
        }

        if (count == 0)
        {
            return 0;
        }

        long first = _lastId + 1;
        long timestamp = _clock.UnixNs();
        int done = 0;
        bool rotated = false;
        while (done < count)
        {
            int appended = _writer.TryAppendBatch(first + done, timestamp, type, bytes[(done * size)..], size, count - done);
            done += appended;
            _lastId = first + done - 1;
            if (done < count)
            {
                if (appended == 0 && rotated)
                {
                    throw NoRoomInFreshSegment(size);
                }

                Rotate();
                rotated = true; // a fresh segment that takes none of the rest means the event cannot fit anywhere
            }
        }

        CountEvents(count);
        return first;
    }

    /// <summary>
    /// Zero-copy append, first half: reserves room for the next event's payload of
    /// <paramref name="length"/> bytes in the open block and returns it, for the caller to write the
    /// payload in place (the writer's staging ring: no copy); <paramref name="eventId"/> is the id the
    /// event will have. <see cref="Publish"/> appends it; <see cref="CancelClaim"/> gives it up. Until
    /// then no other append, claim or commit is allowed, and the span is valid only until then.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The length exceeds the block size's limit.</exception>
    /// <exception cref="InvalidOperationException">A claim is open already.</exception>
    public unsafe Span<byte> Claim(int length, out long eventId, ushort type = 0)
    {
        if (_stopped)
        {
            ThrowIfStopped();
        }

        long id = _lastId + 1;
        long timestamp = _clock.UnixNs();
        byte* payload = _writer.TryClaim(id, timestamp, type, length);
        if (payload == null)
        {
            Rotate();
            payload = _writer.TryClaim(id, timestamp, type, length);
            if (payload == null)
            {
                throw NoRoomInFreshSegment(length);
            }
        }

        eventId = id;
        return new Span<byte>(payload, length);
    }

    /// <summary>Zero-copy append, second half: appends the claimed event with the payload the caller wrote; returns its id.</summary>
    /// <exception cref="InvalidOperationException">No claim is open.</exception>
    public long Publish()
    {
        _writer.PublishClaim();
        _lastId = _writer.LastEventId;
        CountEvents(1);
        return _lastId;
    }

    /// <summary>Gives up the open claim, if any: nothing of it is appended, and its id is handed out next.</summary>
    public void CancelClaim() => _writer.CancelClaim();

    /// <summary>Appends an event with an id the caller chose, which must be greater than <see cref="LastEventId"/>.</summary>
    /// <exception cref="WalEventIdException">The id does not increase.</exception>
    public long Append(long eventId, ReadOnlySpan<byte> payload, ushort type = 0)
    {
        if (eventId <= _lastId)
        {
            ThrowIfStopped();
            throw new WalEventIdException(Directory, eventId, _lastId);
        }

        AppendCore(eventId, _clock.UnixNs(), payload, type);
        return eventId;
    }

    /// <summary>
    /// Seals the open block and returns once every event appended so far is committed (written into
    /// its segment file: visible to readers, survives a killed process). The blocks the flusher has
    /// not written yet are written by this thread (one <c>pwrite</c> pair, a few microseconds). Under
    /// <see cref="DurabilityPolicy.EveryCommit"/> it also flushes and returns once they are durable.
    /// Returns <see cref="CommittedEventId"/>.
    /// </summary>
    public long Commit()
    {
        ThrowIfStopped();
        long start = Stopwatch.GetTimestamp();
        _writer.Seal(); // nothing to seal without an open block

        WaitWritten();
        _telemetry.Seal.RecordSince(start);
        _telemetry.CountCommit();
        if (_options.Durability == DurabilityPolicy.EveryCommit)
        {
            FlushActive();
        }

        return _committedId;
    }

    /// <summary>
    /// Seals the open block and returns at once, without waiting for the file: the flusher writes the
    /// sealed blocks into their segment within about a millisecond (it looks every millisecond), and
    /// <see cref="CommittedEventId"/> then reaches the id returned, the last appended. The writer makes
    /// no system call (unless the staging ring is full, when it writes blocks itself as appends do).
    /// This is FasterLog's <c>Commit(spinWait: false)</c>; <see cref="Commit"/> is the call that
    /// returns once the events survive a killed process. Durability stays the policy's: the
    /// <see cref="DurabilityPolicy.Interval"/> syncs cover these blocks once they are written, and under
    /// <see cref="DurabilityPolicy.EveryCommit"/> only <see cref="Commit"/> and <see cref="Flush"/> make events durable.
    /// </summary>
    public long RequestCommit()
    {
        ThrowIfStopped();
        _writer.Seal(); // nothing to seal without an open block

        _telemetry.CountCommit();
        return _lastId;
    }

    /// <summary>Commits and flushes now, whatever the policy: on return every appended event is durable.</summary>
    public long Flush()
    {
        ThrowIfStopped();
        _writer.Seal(); // nothing to seal without an open block

        WaitWritten();
        FlushActive();
        return _committedId;
    }

    /// <summary>Waits until <paramref name="eventId"/> is durable. False on timeout (<see cref="Timeout.InfiniteTimeSpan"/>: none). Any thread.</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WalException">The maintainer failed, so the event may never become durable.</exception>
    public bool WaitForDurable(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _durableWait.Wait(eventId, timeout, cancellationToken);

    /// <summary>Waits asynchronously until <paramref name="eventId"/> is durable. False on timeout. Any thread.</summary>
    public Task<bool> WaitForDurableAsync(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _durableWait.WaitAsync(eventId, timeout, cancellationToken);

    /// <summary>
    /// Attaches a replicated watermark for a shipper to advance (one per recorder). From then on
    /// retention deletes no segment that holds an event above it: a replica that fell behind (its
    /// servers down) still finds every event it has not acknowledged.
    /// </summary>
    /// <exception cref="InvalidOperationException">A mark is attached already.</exception>
    public ReplicationMark AttachReplication()
    {
        ThrowIfStopped();
        var mark = new ReplicationMark();
        return Interlocked.CompareExchange(ref _replication, mark, null) is null
            ? Replication = mark
            : throw new InvalidOperationException($"The recorder of '{Directory}' is replicated already: one shipper advances its replicated watermark.");
    }

    /// <summary>Waits until <paramref name="eventId"/> is replicated (<see cref="Replication"/>). False on timeout. Any thread.</summary>
    /// <exception cref="InvalidOperationException">The log is not replicated.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WalReplicationStoppedException">The shipper stopped for good, so the event may never be replicated.</exception>
    public bool WaitForReplicated(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (Replication ?? throw NotReplicated()).Wait(eventId, timeout, cancellationToken);

    /// <summary>Waits asynchronously until <paramref name="eventId"/> is replicated. False on timeout. Any thread.</summary>
    /// <exception cref="InvalidOperationException">The log is not replicated.</exception>
    public Task<bool> WaitForReplicatedAsync(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (Replication ?? throw NotReplicated()).WaitAsync(eventId, timeout, cancellationToken);

    private InvalidOperationException NotReplicated() =>
        new($"The recorder of '{Directory}' is not replicated: no replicated watermark to wait for (record with a replication target).");

    /// <summary>The recorder's live counters and histograms (each written by one thread, readable from any).</summary>
    public RecorderTelemetry Telemetry => _telemetry;

    /// <summary>A snapshot of the recorder's measurements, with percentiles. Any thread.</summary>
    public RecorderTelemetrySnapshot GetTelemetry() => new()
    {
        Directory = Directory,
        Taken = DateTimeOffset.UtcNow,
        LastEventId = Volatile.Read(ref _lastId),
        CommittedEventId = CommittedEventId,
        DurableEventId = DurableEventId,
        ActiveSegmentIndex = Volatile.Read(ref _writer).SegmentIndex,
        StagingRingBytes = _ring.Size,
        StagingPrefault = _ring.Memory.Used,
        StagingFirstWriteNs = _ring.Memory.FirstWriteNs,
        StagingPrefaultChoice = _ring.Memory.Choice,
        StagingStalls = _ring.Stalls,
        ClockMaxDriftNs = _clock.MaxDriftNs,
        ClockAnchors = _clock.Anchors,
        BackgroundPlacement = _options.BackgroundThreads.ToString() + (_telemetry.PlacementFailure is { } failed ? $" (not applied to {failed})" : ""),
        Events = _telemetry.Events,
        Commits = _telemetry.Commits,
        Rotations = Volatile.Read(ref _rotations),
        PreparerMisses = _telemetry.Preparer.Misses,
        WriterCreatedSegments = _telemetry.Preparer.WriterCreated,
        PreparerFailures = _telemetry.Preparer.Failures,
        SegmentsClosed = _telemetry.SegmentsClosed,
        SegmentsDeleted = _telemetry.SegmentsDeleted,
        Compressions = _telemetry.Compressions,
        CompressionFailures = _telemetry.CompressionFailures,
        Syncs = _telemetry.Syncs,
        Checkpoints = _telemetry.Checkpoints,
        CheckpointFailures = _telemetry.CheckpointFailures,
        HandOffStalls = _telemetry.HandOffStalls,
        Append = _telemetry.Append.Snapshot(),
        RotationAppend = _telemetry.RotationAppend.Snapshot(),
        Rotation = _telemetry.Rotation.Snapshot(),
        Seal = _telemetry.Seal.Snapshot(),
        PreparerCreate = _telemetry.Preparer.Create.Snapshot(),
        PreparerWait = _telemetry.Preparer.Wait.Snapshot(),
        Close = _telemetry.Close.Snapshot(),
        Sync = _telemetry.Sync.Snapshot(),
        Checkpoint = _telemetry.Checkpoint.Snapshot(),
    };

    /// <summary>
    /// Commits, flushes and closes everything: the active segment, the rotated ones still queued, the
    /// checkpoint; discards prepared segments; releases the directory. Nothing appended is lost.
    /// </summary>
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        if (_halt is { } halt)
        {
            // A sync failed: what it covered may never reach the disk, so nothing more is closed or
            // claimed; the files stay as a crash leaves them, and the next open makes durable what is.
            Abandon();
            throw HaltError(halt);
        }

        _writer.CancelClaim(); // a claim never published was never appended
        Exception? failure = null;
        try
        {
            Flush();
        }
        catch (Exception e) when (e is IOException or WalException)
        {
            failure = e;
        }

        _closed = _stopped = true;
        _flusher.Stop();
        _preparer?.Stop();
        _maintainer.Stop();
        if (_halt is { } late)
        {
            // The flush or the maintainer's last closes failed meanwhile: as above.
            Abandon();
            throw HaltError(late);
        }

        try
        {
            if (_writer.RecordCount == 0)
            {
                _writer.Discard(); // an empty segment is not worth a file
            }
            else
            {
                _writer.Close();
            }

            _maintainer.TryWriteCheckpoint();
        }
        catch (Exception e) when (e is IOException or WalException)
        {
            failure ??= e;
            Halt(e); // a close whose sync failed: nothing more is claimed
        }
        finally
        {
            _ring.Dispose();
            _meterRegistration.Dispose();
            _lock.Dispose();
        }

        if (failure is not null)
        {
            throw new WalException($"Closing the recorder of '{Directory}' failed: {failure.Message}", Directory, failure);
        }
    }

    /// <summary>Stops everything without sealing, flushing or closing: the directory is left as a killed process leaves it. For crash tests.</summary>
    internal void Abandon()
    {
        _closed = _stopped = true;
        _flusher.Abandon(); // blocks sealed and not written are lost, as with a killed process
        _preparer?.Stop();
        _maintainer.Abandon();
        _writer.Abandon();
        _ring.Dispose();
        _meterRegistration.Dispose();
        _lock.Dispose();
    }

    /// <summary>
    /// Stops everything as a process killed in the middle of writing its last block leaves the
    /// directory: every block sealed before is written, the open block is written without its magic
    /// (a torn end), nothing is closed or flushed. For crash tests.
    /// </summary>
    internal void AbandonMidWrite()
    {
        if (!_closed)
        {
            _writer.AbandonMidWrite();
        }

        Abandon();
    }

    /// <summary>Raises the durable watermark to <paramref name="eventId"/> (never lowers it) and wakes waiters.</summary>
    internal void AdvanceDurable(long eventId)
    {
        if (_halt is not null)
        {
            return; // after a failed sync nothing is durable that was not before it
        }

        long seen;
        while (eventId > (seen = Volatile.Read(ref _durableId)))
        {
            if (Interlocked.CompareExchange(ref _durableId, eventId, seen) == seen)
            {
                _durableWait.Wake();
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AppendCore(long id, long timestampUnixNs, ReadOnlySpan<byte> payload, ushort type)
    {
        if (_stopped)
        {
            ThrowIfStopped();
        }

        long start = _measure ? Stopwatch.GetTimestamp() : 0;
        if (!_writer.TryAppend(id, timestampUnixNs, type, payload))
        {
            Rotate();
            if (!_writer.TryAppend(id, timestampUnixNs, type, payload))
            {
                throw NoRoomInFreshSegment(payload.Length);
            }

            if (_measure)
            {
                _telemetry.RotationAppend.RecordSince(start);
            }
        }

        _lastId = id;
        if (_measure)
        {
            _telemetry.Append.RecordSince(start);
        }

        CountEvents(1);
    }

    /// <summary>Counts appended events into the telemetry a thousand or so at a time (an interlocked add per append would cost the hot path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountEvents(int events)
    {
        _eventsSinceTelemetry += events;
        if (_eventsSinceTelemetry >= 1024)
        {
            _telemetry.AddEvents(_eventsSinceTelemetry);
            _eventsSinceTelemetry = 0;
        }
    }

    /// <summary>An event too large for even a fresh segment: the options' sizes allow it through their checks, the segment's room does not.</summary>
    private InvalidOperationException NoRoomInFreshSegment(long bytes) =>
        new($"An event of {bytes} bytes did not fit in a fresh segment of '{Directory}'.");

    /// <summary>
    /// The active segment is full (and sealed): continue in the next one at once; the flusher hands
    /// this one to the maintainer once its last blocks are in the file.
    /// </summary>
    /// <remarks>
    /// The rotation path runs once per segment, so tiered compilation would leave it in unoptimised
    /// tier-0 code, behind call-counting stubs, for the first 30 rotations, and compile it on the first
    /// one (milliseconds). Every method on it is therefore <see cref="MethodImplOptions.AggressiveOptimization"/>
    /// (compiled once, optimised) and compiled when the recorder opens (<see cref="CompileWriterPaths"/>).
    /// Measured on the paced 8 MiB run: rotation p50 19 us with tiering, 6 us without.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void Rotate()
    {
        long start = Stopwatch.GetTimestamp();
        SegmentWriter old = _writer;
        SegmentWriter fresh = NextSegment(old.SegmentIndex + 1, out long waitedTicks);
        fresh.Start(0, _lastId, _ring); // its chain seed is old's final chain value, which the ring's drainer gives it (ContinueChainFrom)
        Volatile.Write(ref _rotations, _rotations + 1);
        _ring.SegmentEnded(old, fresh, new RotationTiming(Stopwatch.GetTimestamp() - start, waitedTicks));
        _writer = fresh;
    }

    /// <summary>The segment the writer goes on in: a prepared one, or one it creates itself (<paramref name="waitedTicks"/> -1) when none is ready.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SegmentWriter NextSegment(long index, out long waitedTicks)
    {
        waitedTicks = -1;
        if (_preparer is null)
        {
            return SegmentWriter.Create(Directory, index, LogId, _segmentOptions);
        }

        bool missed = false;
        while (true)
        {
            SegmentWriter? prepared = _preparer.TakeNextSegment(index, out long waited);
            if (prepared is not null)
            {
                waitedTicks = waited;
                return prepared;
            }

            if (!missed)
            {
                _preparer.CountMiss();
                missed = true;
            }

            if (_preparer.TryClaim(index))
            {
                bool created = false;
                try
                {
                    SegmentWriter writer = SegmentWriter.Create(Directory, index, LogId, _segmentOptions);
                    created = true;
                    return writer;
                }
                finally
                {
                    _preparer.EndClaim(index, created);
                }
            }
        }
    }

    /// <summary>
    /// Compiles every method a rotation runs (see <see cref="Rotate"/>), and those the writer runs when
    /// it drains the staging ring itself (a commit, a full ring), once per process, so that the first
    /// of them does not wait for the JIT (nor fault on the code it writes).
    /// </summary>
    private static void CompileWriterPaths()
    {
        if (Interlocked.Exchange(ref s_rotationPathCompiled, 1) == 1)
        {
            return;
        }

        const BindingFlags Any = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        (Type Type, string Name)[] path =
        [
            (typeof(WalRecorder), nameof(Rotate)),
            (typeof(WalRecorder), nameof(NextSegment)),
            (typeof(SegmentPreparer), nameof(SegmentPreparer.TakeNextSegment)),
            (typeof(StagingRing), nameof(StagingRing.SegmentEnded)),
            (typeof(StagingRing), nameof(StagingRing.WaitWritten)),
            (typeof(StagingRing), nameof(StagingRing.TryDrain)),
            (typeof(StagingRing), "WriteQueued"),
            (typeof(StagingRing), "WaitForRoom"),
            (typeof(StagingRing), "EnqueueWhenRoom"),
            (typeof(SegmentWriter), nameof(SegmentWriter.WriteBlock)),
            (typeof(SegmentWriter), nameof(SegmentWriter.ContinueChainFrom)),
            (typeof(BlockHeader), nameof(BlockHeader.Complete)),
            (typeof(BlockHeader), "WriteChecksums"),
            (typeof(BlockHeader), nameof(BlockHeader.WriteFields)),
            (typeof(SpscRing<StagingRing.SealedBlock>), nameof(SpscRing<StagingRing.SealedBlock>.TryDequeue)),
            (typeof(SpscRing<SegmentWriter>), nameof(SpscRing<SegmentWriter>.TryDequeue)),
            (typeof(SpscRing<StagingRing.SealedBlock>), nameof(SpscRing<StagingRing.SealedBlock>.TryEnqueue)),
            (typeof(WalRecorder), "FlashWal.Recording.IStagingListener.BlocksWritten"),
            (typeof(WalRecorder), "FlashWal.Recording.IStagingListener.SegmentEnded"),
            (typeof(CommitMark), nameof(CommitMark.Publish)),
            (typeof(SegmentMaintainer), nameof(SegmentMaintainer.HandOver)),
            (typeof(LatencyHistogram), nameof(LatencyHistogram.RecordTicks)),
        ];
        RuntimeHelpers.PrepareMethod(typeof(SegmentWriter).GetMethod(nameof(SegmentWriter.Start), Any, [typeof(uint), typeof(long), typeof(BlockStaging)])!.MethodHandle);
        foreach ((Type type, string name) in path)
        {
            MethodInfo method = type.GetMethod(name, Any) ?? throw new MissingMethodException(type.Name, name);
            RuntimeHelpers.PrepareMethod(method.MethodHandle, type.IsGenericType ? [.. type.GetGenericArguments().Select(a => a.TypeHandle)] : null);
        }
    }

    /// <summary>Drainer of the staging ring: blocks up to <paramref name="end"/> are in the file, so events up to <paramref name="lastEventId"/> are committed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the writer's drain path: see CompileWriterPaths
    void IStagingListener.BlocksWritten(SegmentWriter segment, long end, long lastEventId)
    {
        Mark.Publish(segment, end, lastEventId);
        Volatile.Write(ref _committedId, lastEventId);
    }

    /// <summary>Drainer of the staging ring: every block of <paramref name="ended"/> is in the file; it goes to the maintainer for closing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the writer's drain path: see CompileWriterPaths
    void IStagingListener.SegmentEnded(SegmentWriter ended, SegmentWriter next, RotationTiming timing)
    {
        _telemetry.Rotation.RecordTicks(timing.Ticks);
        if (timing.WaitedTicks >= 0)
        {
            _preparer?.Telemetry.Wait.RecordTicks(timing.WaitedTicks);
        }

        _maintainer.HandOver(ended);
        Mark.Publish(next, next.WrittenEnd, Volatile.Read(ref _committedId));
    }

    /// <summary>Writer thread: returns once every sealed block is in its file (writing what the flusher has not); a failed write stops recording.</summary>
    private void WaitWritten()
    {
        try
        {
            _ring.WaitWritten();
        }
        catch (Exception e) when (e is IOException or WalException or UnauthorizedAccessException)
        {
            Halt(e);
            throw HaltError(e);
        }
    }

    /// <summary>
    /// Writer thread: once every rotated segment is closed (synced by the maintainer, in order), syncs
    /// the active segment; then everything committed is durable. The older segments go first so that a
    /// power cut can never leave the newer one's blocks on disk after a hole (FORMAT.md §17).
    /// </summary>
    private void FlushActive()
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while (_maintainer.PendingCloses > 0)
        {
            ThrowIfBackgroundFailed();
            spin.SpinOnce(); // sleeps after a while; the maintainer closes the older segments
        }

        try
        {
            _writer.Flush();
        }
        catch (Exception e) when (e is IOException or WalException)
        {
            Halt(e);
            throw HaltError(e);
        }

        _telemetry.Sync.RecordSince(start);
        _telemetry.CountSync();
        AdvanceDurable(_committedId);
    }

    /// <summary>
    /// Stops recording after <paramref name="failure"/> (a sync or a close that failed, on any thread):
    /// every later append, commit, flush and wait throws, and the durable watermark never moves again.
    /// </summary>
    internal void Halt(Exception failure)
    {
        if (_halt is null)
        {
            _halt = failure;
            Volatile.Write(ref _stopped, true);
            _durableWait.Wake(); // waiters see the failure at once
        }
    }

    /// <summary>Why recording stopped, if it did: the sync or close that failed (<see cref="WalSyncException"/> for a sync).</summary>
    public Exception? StopFailure => _halt;

    private WalException HaltError(Exception failure) =>
        new($"Recording into '{Directory}' stopped: {failure.Message.TrimEnd('.')}. Events up to {DurableEventId} are durable; events after it may be lost.", failure is WalException wal ? wal.Path ?? Directory : Directory, failure);

    private void ThrowIfStopped()
    {
        if (_closed)
        {
            throw new ObjectDisposedException(nameof(WalRecorder), $"The recorder of '{Directory}' has been closed.");
        }

        if (_halt is { } halt)
        {
            throw HaltError(halt);
        }
    }

    private void ThrowIfBackgroundFailed()
    {
        if (_halt is { } failure)
        {
            throw HaltError(failure);
        }
    }
}
