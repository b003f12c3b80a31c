using System.Diagnostics;
using System.Runtime.CompilerServices;
using FlashWal.Format;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>
/// The recorder's background thread for everything that must not run on the writer thread:
/// closing rotated segments (flush, summary, unmap), flushing the active segment every sync interval,
/// writing the metadata checkpoint, and applying retention.
/// </summary>
/// <remarks>
/// It is the only thread that closes rotated segments, so the active segment it flushes can never
/// be unmapped under it. Segments arrive over an SPSC ring in rotation order and are closed in that
/// order, so "every segment before the active one is closed" is a counter reaching zero.
/// </remarks>
internal sealed class SegmentMaintainer
{
    private const int RingCapacity = 64;

    private readonly WalRecorder _recorder;
    private readonly WalRecorderOptions _options;
    private readonly RecorderTelemetry _telemetry;
    private readonly SpscRing<SegmentWriter> _rotated = new(RingCapacity);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _pendingCloses;
    private SegmentWriter? _syncedWriter;
    private long _syncedEnd;
    private MetaCheckpoint? _lastCheckpoint;

    public SegmentMaintainer(WalRecorder recorder, WalRecorderOptions options, RecorderTelemetry telemetry)
    {
        _recorder = recorder;
        _options = options;
        _telemetry = telemetry;
        _thread = new Thread(Run) { IsBackground = true, Name = "FlashWal maintainer" /* Linux shows "FlashWal mainta" */ };
    }

    /// <summary>Rotated segments not closed yet.</summary>
    public long PendingCloses => Volatile.Read(ref _pendingCloses);

    /// <summary>The first error of a background operation, if any; the recorder reports it.</summary>
    public Exception? Failure { get; private set; }

    public void Start() => _thread.Start();

    /// <summary>The staging ring's drainer (the flusher, or the writer draining itself): hands a rotated segment, all its blocks in the file, over for closing. Waits only if 64 closes are pending.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the writer's drain path: see WalRecorder.CompileWriterPaths
    public void HandOver(SegmentWriter writer)
    {
        Interlocked.Increment(ref _pendingCloses); // before the new active segment is published
        if (_rotated.TryEnqueue(writer))
        {
            return;
        }

        _telemetry.CountHandOffStall();
        var spin = default(SpinWait);
        while (!_rotated.TryEnqueue(writer))
        {
            spin.SpinOnce();
        }
    }

    /// <summary>Closes everything handed over, writes the last checkpoint, and ends the thread.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    /// <summary>Ends the thread without closing what it holds (crash simulation for tests).</summary>
    internal void Abandon()
    {
        _abandon = true;
        Stop();
        while (_rotated.TryDequeue(out SegmentWriter? writer))
        {
            writer.Abandon();
        }
    }

    private volatile bool _abandon;

    private void Run()
    {
        _recorder.PlaceBackgroundThread("maintainer");
        long nextSync = Stopwatch.GetTimestamp();
        long nextCheckpoint = Stopwatch.GetTimestamp();
        long nextAnchor = Stopwatch.GetTimestamp();
        long anchorTicks = (long)(EventClock.AnchorInterval.TotalSeconds * Stopwatch.Frequency);
        long syncTicks = (long)(_options.SyncInterval.TotalSeconds * Stopwatch.Frequency);
        long checkpointTicks = (long)(_options.CheckpointInterval.TotalSeconds * Stopwatch.Frequency);
        int idleSleep = (int)Math.Clamp(_options.SyncInterval.TotalMilliseconds / 2, 1, 10);
        while (true)
        {
            bool stopping = _stopping;
            if (_abandon)
            {
                return;
            }

            if (Failure is not null)
            {
                // Stopped by a failure: nothing more is closed, synced or checkpointed; the recorder
                // abandons what it holds when it is disposed.
                if (stopping)
                {
                    return;
                }

                Thread.Sleep(idleSleep);
                continue;
            }

            bool worked = false;
            try
            {
                while (_rotated.TryDequeue(out SegmentWriter? writer))
                {
                    CloseRotated(writer);
                    worked = true;
                }

                long now = Stopwatch.GetTimestamp();
                if (now >= nextAnchor)
                {
                    _recorder.Clock.Reanchor();
                    nextAnchor = now + anchorTicks;
                }

                if (_options.Durability == DurabilityPolicy.Interval && now >= nextSync)
                {
                    SyncActive();
                    nextSync = now + syncTicks;
                }

                if (now >= nextCheckpoint || stopping)
                {
                    TryWriteCheckpoint();
                    nextCheckpoint = now + checkpointTicks;
                }
            }
            catch (Exception e)
            {
                // Never take the process down from a background thread: the recorder stops (a failed
                // sync may have dropped dirty pages, so nothing after it can be called durable), reports
                // it on its next append, commit, flush or wait, and the durable watermark stays where it
                // was true.
                Failure ??= e;
                _recorder.Halt(e);
            }

            if (stopping)
            {
                return; // the ring was drained after the stop request was seen
            }

            if (!worked)
            {
                Thread.Sleep(idleSleep);
            }
        }
    }

    private void CloseRotated(SegmentWriter writer)
    {
        long start = Stopwatch.GetTimestamp();
        long last = writer.LastEventId;
        writer.Close();
        LastClosedIndex = writer.SegmentIndex;
        _telemetry.Close.RecordSince(start);
        _telemetry.CountClose();
        Interlocked.Decrement(ref _pendingCloses);
        if (last > 0)
        {
            _recorder.AdvanceDurable(last);
        }

        if (ReferenceEquals(writer, _syncedWriter))
        {
            _syncedWriter = null;
        }

        try
        {
            Retention.Apply(_recorder.Directory, _options.Retention, LastClosedIndex, _telemetry, _options.Disk, RaiseFloor, _recorder.Replication);
            RetentionFailure = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.WalException)
        {
            // Retention deletes what is durable already, or compresses a copy of it: a failure there
            // loses nothing and makes nothing durable that is not, so recording goes on; the next close
            // tries again.
            RetentionFailure = e;
        }
    }

    /// <summary>The last error of retention (compressing or deleting old segments), if its last pass failed.</summary>
    public Exception? RetentionFailure { get; private set; }

    /// <summary>
    /// Retention is about to delete every segment below <paramref name="first"/>: the checkpoint says so
    /// durably first, so that a reader tells those deletions from a lost segment. Throws when it cannot
    /// (nothing is deleted then, and the recorder reports the failure).
    /// </summary>
    private void RaiseFloor(long first)
    {
        FirstSegmentIndex = Math.Max(FirstSegmentIndex, first);
        WriteCheckpoint();
    }

    /// <summary>The lowest segment index retention has not deleted (the checkpoint's <see cref="MetaCheckpoint.FirstSegmentIndex"/>).</summary>
    public long FirstSegmentIndex { get; set; }

    /// <summary>Flushes the active segment's committed range and advances the durable watermark over it.</summary>
    internal void SyncActive()
    {
        (SegmentWriter? writer, long end, long eventId) = _recorder.Mark.Read();
        if (writer is null || Volatile.Read(ref _pendingCloses) > 0)
        {
            return; // older segments first: they are closed (and flushed) on the next loop
        }

        if (!ReferenceEquals(writer, _syncedWriter))
        {
            _syncedWriter = writer;
            _syncedEnd = 0; // the first flush of a segment covers its header page and its name
        }

        long durable = _recorder.DurableEventId;
        if (end > _syncedEnd)
        {
            long start = Stopwatch.GetTimestamp();
            writer.FlushRange(_syncedEnd, end);
            _syncedEnd = end;
            _telemetry.Sync.RecordSince(start);
            _telemetry.CountSync();
        }

        _telemetry.DurableLag.Record(Math.Max(0, eventId - durable));
        _recorder.AdvanceDurable(eventId);
    }

    /// <summary>Index of the newest segment this thread has closed (-1 before any).</summary>
    public long LastClosedIndex { get; private set; } = -1;

    /// <summary>The last error writing the checkpoint, if the last attempt failed. The checkpoint is a hint: this never stops recording.</summary>
    public Exception? CheckpointFailure { get; private set; }

    /// <summary>
    /// Writes the checkpoint before the maintainer starts (the recorder's open): it records where the
    /// log's durable part ends before anything of this recorder is claimed. A failure stops the open.
    /// </summary>
    internal void WriteCheckpointNow() => WriteCheckpoint();

    /// <summary>Writes the checkpoint if it changed; a failure (a full disk) is kept in <see cref="CheckpointFailure"/>, not thrown. On the maintainer thread, or after it stopped.</summary>
    internal void TryWriteCheckpoint()
    {
        try
        {
            WriteCheckpoint();
            CheckpointFailure = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.WalSyncException)
        {
            CheckpointFailure = e;
            _telemetry.CountCheckpointFailure();
        }
    }

    private void WriteCheckpoint()
    {
        (SegmentWriter? writer, long end, long eventId) = _recorder.Mark.Read();
        if (writer is null)
        {
            return;
        }

        // The committed id carries on ids a machine crash lost before this recorder started, so that the
        // next open does not hand them out either (the durable id never claims them).
        var checkpoint = new MetaCheckpoint(_recorder.LogId, writer.SegmentIndex, end, Math.Max(eventId, _recorder.CommittedBeyond), _recorder.DurableEventId, 0)
        {
            FirstSegmentIndex = FirstSegmentIndex,
        };
        if (_lastCheckpoint == checkpoint)
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        (checkpoint with { WrittenUnixNs = WalClock.UnixNs() }).Save(_recorder.Directory, _options.Disk);
        _lastCheckpoint = checkpoint;
        _telemetry.Checkpoint.RecordSince(start);
        _telemetry.CountCheckpoint();
    }
}
