using FlashWal.Errors;
using FlashWal.Telemetry;
using FlashWal.Threading;
using Microsoft.Extensions.ObjectPool;

namespace FlashWal.Recording;

/// <summary>
/// The multi-producer front of a <see cref="WalRecorder"/>, for PowerShell and multi-threaded
/// applications: any thread submits events into a bounded lock-free queue; one dedicated writer
/// thread owns the recorder, appends them in queue order, and commits whenever the queue runs dry
/// (or after <see cref="WalRecorderHostOptions.MaxBatch"/> events), so commits batch themselves to the
/// load. Submitters wait for what they ask: nothing, the append (and its id), the commit, or
/// durability.
/// </summary>
/// <remarks>
/// Per-producer order is preserved (a producer's events enter the queue in its order). Envelopes
/// are pooled and completions are reusable value-task sources, so steady submissions allocate
/// nothing. Durable waiters are completed when the recorder's durable watermark passes their id:
/// under the Interval policy, one background flush completes a whole group; under None the writer
/// flushes when someone waits for durability.
/// </remarks>
public sealed class WalRecorderHost : IDisposable
{
    private readonly WalRecorder _recorder;
    private readonly WalRecorderHostOptions _options;
    private readonly MpscRing<EventEnvelope> _queue;
    private readonly DefaultObjectPool<EventEnvelope> _pool;
    private readonly Thread _writer;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly List<EventEnvelope> _awaitingCommit = [];
    private readonly List<EventEnvelope> _awaitingDurable = [];
    private readonly ManualResetEventSlim _paused = new(true); // tests hold the writer with it
    private readonly int _maxPayload;
    private int _sleeping;
    private volatile bool _stopping;
    private volatile Exception? _writerFailure; // why the writer thread ended before it was asked to (a failed sync)
    private volatile bool _writerEnded;
    private readonly object _drainLock = new(); // the queue's one consumer once the writer thread has ended
    private long _submitted;
    private long _appended;
    private long _failed;
    private Exception? _closeFailure;

    // The close failure is the recorder's own close error, which already names the directory and the
    // step that failed: thrown as it is, not wrapped in a second "closing failed" around the same words.
    private bool _closeFailureIsRecorders;

    private WalRecorderHost(WalRecorder recorder, WalRecorderHostOptions options)
    {
        _recorder = recorder;
        _options = options;
        _queue = new MpscRing<EventEnvelope>(options.QueueCapacity);
        _pool = new DefaultObjectPool<EventEnvelope>(new EventEnvelope.Policy(), Math.Min(options.QueueCapacity, 1 << 16));
        _writer = new Thread(Run) { IsBackground = true, Name = "FlashWal writer " + recorder.Directory };
        _maxPayload = options.Recorder.Segments.MaxPayloadSize;
    }

    /// <summary>The WAL directory.</summary>
    public string Directory => _recorder.Directory;

    /// <summary>The options it runs with.</summary>
    public WalRecorderHostOptions Options => _options;

    /// <summary>Id of the last event the writer appended.</summary>
    public long LastEventId => Volatile.Read(ref _lastAppendedId);

    /// <summary>The committed watermark.</summary>
    public long CommittedEventId => _recorder.CommittedEventId;

    /// <summary>The durable watermark.</summary>
    public long DurableEventId => _recorder.DurableEventId;

    /// <summary>Events submitted.</summary>
    public long Submitted => Volatile.Read(ref _submitted);

    /// <summary>Events the writer appended.</summary>
    public long Appended => Volatile.Read(ref _appended);

    /// <summary>Events the writer could not append (their submitters got the error).</summary>
    public long Failed => Volatile.Read(ref _failed);

    /// <summary>The replicated watermark, once <see cref="AttachReplication"/> attached one; null before.</summary>
    public ReplicationMark? Replication => _recorder.Replication;

    /// <summary>Every event up to this id is replicated; 0 while the log is not.</summary>
    public long ReplicatedEventId => _recorder.ReplicatedEventId;

    /// <summary>Attaches the recorder's replicated watermark for a shipper to raise (<see cref="WalRecorder.AttachReplication"/>).</summary>
    /// <exception cref="InvalidOperationException">One is attached already.</exception>
    public ReplicationMark AttachReplication() => _recorder.AttachReplication();

    /// <summary>Index of the segment being written. Any thread.</summary>
    public long ActiveSegmentIndex => _recorder.ActiveSegmentIndex;

    /// <summary>Events waiting in the queue.</summary>
    public int QueueLength => _queue.Count;

    /// <summary>What opening the log found (see <see cref="WalRecorder.OpenFindings"/>).</summary>
    public IReadOnlyList<Format.Finding> OpenFindings => _recorder.OpenFindings;

    /// <summary>Whether the host has been closed.</summary>
    public bool IsClosed => _stopping;

    private long _lastAppendedId;

    /// <summary>Opens the recorder of <paramref name="directory"/> and starts its writer thread.</summary>
    public static WalRecorderHost Start(string directory, WalRecorderHostOptions? options = null)
    {
        options ??= new WalRecorderHostOptions();
        options.Validate();
        WalRecorder recorder = WalRecorder.Open(directory, options.Recorder);
        var host = new WalRecorderHost(recorder, options);
        host._lastAppendedId = recorder.LastEventId;
        host._writer.Start();
        return host;
    }

    /// <summary>Queues an event and returns at once (fire and forget). False when the queue is full and the host fails fast.</summary>
    public bool TrySubmit(ReadOnlySpan<byte> payload, ushort type = 0)
    {
        return TryQueue(Prepare(payload, type, SubmitWait.None, blocking: false));
    }

    /// <summary>Queues an event and blocks until it reached <paramref name="wait"/>; returns its id (0 for <see cref="SubmitWait.None"/>).</summary>
    /// <exception cref="WalQueueFullException">The queue is full and the host fails fast.</exception>
    /// <exception cref="TimeoutException">It did not get there within <paramref name="timeout"/> (default: no limit).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="wait"/> is not a <see cref="SubmitWait"/>, or <paramref name="timeout"/> is negative (but infinite) or too long; nothing was submitted.</exception>
    public long Submit(ReadOnlySpan<byte> payload, ushort type = 0, SubmitWait wait = SubmitWait.Appended, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        CheckWait(wait, timeout);
        return Queue(Prepare(payload, type, wait, blocking: wait != SubmitWait.None), timeout, cancellationToken);
    }

    /// <summary>Queues an event; the task completes with its id when it reached <paramref name="wait"/>.</summary>
    /// <exception cref="WalQueueFullException">The queue is full and the host fails fast.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="wait"/> is not a <see cref="SubmitWait"/>; nothing was submitted.</exception>
    public ValueTask<long> SubmitAsync(ReadOnlySpan<byte> payload, ushort type = 0, SubmitWait wait = SubmitWait.Committed)
    {
        CheckWait(wait, null);
        if (wait == SubmitWait.None)
        {
            Submit(payload, type, wait);
            return ValueTask.FromResult(0L);
        }

        EventEnvelope envelope = Prepare(payload, type, wait, blocking: false);
        Enqueue(envelope, throwWhenFull: true);
        return new ValueTask<long>(envelope, envelope.Version);
    }

    /// <summary>
    /// Queues a batch, one event per element of <paramref name="events"/> (its bytes are the payload),
    /// and returns at once (fire and forget). The writer appends it with
    /// <see cref="WalRecorder.AppendBatch{T}"/>: consecutive ids, one timestamp, no other producer's event
    /// between them. False when the queue is full and the host fails fast; true for an empty batch.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">An element is larger than the recorder's payload limit; nothing was submitted.</exception>
    public bool TrySubmitBatch<T>(ReadOnlySpan<T> events, ushort type = 0)
        where T : unmanaged
    {
        if (events.IsEmpty)
        {
            ThrowIfClosed();
            return true;
        }

        return TryQueue(PrepareBatch(events, type, SubmitWait.None, blocking: false));
    }

    /// <summary>
    /// Queues a batch (see <see cref="TrySubmitBatch{T}"/>) and blocks until all of it reached
    /// <paramref name="wait"/>; returns its first id (0 for <see cref="SubmitWait.None"/> or an empty batch).
    /// </summary>
    /// <exception cref="WalQueueFullException">The queue is full and the host fails fast.</exception>
    /// <exception cref="WalEventTooLargeException">An element is larger than the recorder's payload limit; nothing was submitted.</exception>
    /// <exception cref="TimeoutException">It did not get there within <paramref name="timeout"/> (default: no limit).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="wait"/> is not a <see cref="SubmitWait"/>, or <paramref name="timeout"/> is out of range; nothing was submitted.</exception>
    public long SubmitBatch<T>(ReadOnlySpan<T> events, ushort type = 0, SubmitWait wait = SubmitWait.Appended, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        CheckWait(wait, timeout);
        if (events.IsEmpty)
        {
            ThrowIfClosed();
            return 0;
        }

        return Queue(PrepareBatch(events, type, wait, blocking: wait != SubmitWait.None), timeout, cancellationToken);
    }

    /// <summary>
    /// Zero-copy submission, first half: a pooled envelope of <paramref name="length"/> bytes of payload
    /// for the caller to write in place (no copy of a payload built elsewhere); the claim's
    /// <see cref="SubmissionClaim.Submit"/> or <see cref="SubmissionClaim.TrySubmit"/> queues it,
    /// <see cref="SubmissionClaim.Cancel"/> gives it back. Unlike <see cref="WalRecorder.Claim"/> it
    /// holds up no other producer: the id is given when the writer appends it.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The length exceeds the recorder's payload limit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The length is negative.</exception>
    public SubmissionClaim Claim(int length, ushort type = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfClosed();
        if (length > _maxPayload)
        {
            throw new WalEventTooLargeException(Directory, length, _maxPayload);
        }

        EventEnvelope envelope = _pool.Get();
        envelope.OpenClaim(length, type, _pool);
        return new SubmissionClaim(this, envelope, envelope.Version);
    }

    /// <summary>Queues a claimed envelope (see <see cref="SubmissionClaim"/>).</summary>
    internal long SubmitClaim(EventEnvelope envelope, SubmitWait wait, bool throwWhenFull, TimeSpan? timeout, CancellationToken cancellationToken, out bool queued)
    {
        CheckWait(wait, timeout);
        envelope.Claimed = false;
        bool blocking = wait != SubmitWait.None;
        envelope.Arm(wait, blocking);
        try
        {
            ThrowIfClosed();
        }
        catch
        {
            envelope.Release();
            throw;
        }

        queued = Enqueue(envelope, throwWhenFull);
        if (!queued)
        {
            envelope.Claimed = true; // still the claimer's: it may try again or cancel
            return 0;
        }

        return blocking ? envelope.WaitAndRelease(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken) : 0;
    }

    /// <summary>Queues a prepared envelope without waiting; false (the envelope given back) when the queue is full and the host fails fast.</summary>
    private bool TryQueue(EventEnvelope envelope)
    {
        if (Enqueue(envelope, throwWhenFull: false))
        {
            return true;
        }

        envelope.Release();
        return false;
    }

    /// <summary>Queues a prepared envelope and, when it is a blocking one, waits for what it asked; its first id (0 without a wait).</summary>
    private long Queue(EventEnvelope envelope, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Enqueue(envelope, throwWhenFull: true);
        return envelope.Blocking ? envelope.WaitAndRelease(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken) : 0;
    }

    /// <summary>
    /// Blocks until every event submitted before the call is durable; returns the id of the last event
    /// appended before the call's flush request reached the writer (0 for an empty log): every event
    /// submitted before the call has this id or a lower one. The durable watermark may be higher already.
    /// </summary>
    public long Flush(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        CheckWait(SubmitWait.Durable, timeout);
        EventEnvelope marker = Prepare([], 0, SubmitWait.Durable, blocking: true, flushMarker: true);
        Enqueue(marker, throwWhenFull: true);
        return marker.WaitAndRelease(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken); // the writer gave it the last id it appended
    }

    /// <summary>A snapshot of the recorder's measurements. Any thread.</summary>
    public RecorderTelemetrySnapshot GetTelemetry() => _recorder.GetTelemetry();

    /// <summary>Stops accepting events, appends and commits everything queued, completes every waiter, and closes the recorder (flushing it).</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _paused.Set();
        _wake.Set();
        _writer.Join();
        _wake.Dispose();
        if (_closeFailure is not null)
        {
            if (_closeFailureIsRecorders)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_closeFailure);
            }

            throw new WalException($"Closing the recorder of '{Directory}' failed: {_closeFailure.Message}", Directory, _closeFailure);
        }
    }

    /// <summary>Holds or releases the writer thread (tests fill the queue with it).</summary>
    internal void PauseWriter(bool paused)
    {
        if (paused)
        {
            _paused.Reset();
        }
        else
        {
            _paused.Set();
        }
    }

    /// <summary>
    /// Refuses a wait or a timeout the writer could not honour, before anything is queued: once queued,
    /// an event is appended, so failing afterwards would tell the caller it was not, and a retry would
    /// record it twice.
    /// </summary>
    private static void CheckWait(SubmitWait wait, TimeSpan? timeout)
    {
        if ((uint)wait > (uint)SubmitWait.Durable) // the values are 0..3; a compare, not Enum.IsDefined, on every submission
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "Unknown wait: None, Appended, Committed or Durable (a host waits no further; a named recorder waits for Replicated).");
        }

        if (timeout is { } t && t != Timeout.InfiniteTimeSpan && (t < TimeSpan.Zero || t.TotalMilliseconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), t, $"The timeout must be from 0 to {TimeSpan.FromMilliseconds(int.MaxValue)}, or infinite.");
        }
    }

    private void ThrowIfClosed()
    {
        if (_writerFailure is { } failure)
        {
            throw new WalException($"The recorder host of '{Directory}' stopped: {failure.Message}", Directory, failure);
        }

        if (_stopping)
        {
            throw new ObjectDisposedException(nameof(WalRecorderHost), $"The recorder host of '{Directory}' has been closed; it takes no more events.");
        }
    }

    private EventEnvelope Prepare(ReadOnlySpan<byte> payload, ushort type, SubmitWait wait, bool blocking, bool flushMarker = false)
    {
        ThrowIfClosed();
        if (payload.Length > _maxPayload)
        {
            throw new WalEventTooLargeException(Directory, payload.Length, _maxPayload);
        }

        EventEnvelope envelope = _pool.Get();
        envelope.Fill(payload, type, wait, blocking, _pool, flushMarker);
        return envelope;
    }

    private EventEnvelope PrepareBatch<T>(ReadOnlySpan<T> events, ushort type, SubmitWait wait, bool blocking)
        where T : unmanaged
    {
        ThrowIfClosed();
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (size > _maxPayload)
        {
            throw new WalEventTooLargeException(Directory, size, _maxPayload);
        }

        EventEnvelope envelope = _pool.Get();
        envelope.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(events), type, wait, blocking, _pool, batchEventSize: size);
        return envelope;
    }

    private bool Enqueue(EventEnvelope envelope, bool throwWhenFull)
    {
        var spin = default(SpinWait);
        while (!_queue.TryEnqueue(envelope))
        {
            if (_options.WhenFull == QueueFullBehavior.FailFast || _stopping)
            {
                if (!throwWhenFull)
                {
                    return false;
                }

                envelope.Release();
                ThrowIfClosed();
                throw new WalQueueFullException(Directory, _options.QueueCapacity);
            }

            spin.SpinOnce(); // sleeps after a while: this is the producer, not the writer
        }

        Interlocked.Add(ref _submitted, envelope.IsFlushMarker ? 0 : envelope.Count); // events: a flush request is none
        if (_writerEnded)
        {
            // Nobody takes it any more (the writer thread ended on a failure): fail it, and anything
            // else queued since, rather than let it wait out its timeout.
            lock (_drainLock)
            {
                while (_queue.TryDequeue(out EventEnvelope? orphan))
                {
                    orphan.Fail(_writerFailure ?? new ObjectDisposedException(nameof(WalRecorderHost), $"The recorder host of '{Directory}' was closed."));
                }
            }

            return true;
        }

        if (Volatile.Read(ref _sleeping) == 1)
        {
            _wake.Set();
        }

        return true;
    }

    private void Run()
    {
        try
        {
            _options.WriterThread.ApplyToCurrentThread(); // validated with the options: cores this process may use
            while (true)
            {
                _paused.Wait();
                int batch = DrainBatch();
                bool stopping = _stopping;
                if (batch > 0 || _awaitingCommit.Count > 0 || _awaitingDurable.Count > 0)
                {
                    CommitAndComplete(queueDry: _queue.Count == 0);
                }

                if (batch > 0)
                {
                    continue;
                }

                if (stopping && _queue.Count == 0)
                {
                    break;
                }

                Idle();
            }

            _recorder.Flush();
            CompleteDurable(force: true);
        }
        catch (Exception e)
        {
            _closeFailure = e;
            _writerFailure = e; // later submissions are refused at once, naming it
            FailAll(e);
        }
        finally
        {
            _writerEnded = true;
            try
            {
                _recorder.Dispose();
            }
            catch (Exception e) when (e is WalException or IOException)
            {
                if (_closeFailure is null)
                {
                    _closeFailure = e;
                    _closeFailureIsRecorders = e is WalException;
                }
            }

            FailAll(new ObjectDisposedException(nameof(WalRecorderHost), $"The recorder host of '{Directory}' was closed."));
        }
    }

    private int DrainBatch()
    {
        int count = 0;
        while (count < _options.MaxBatch && _queue.TryDequeue(out EventEnvelope? envelope))
        {
            count++;
            try
            {
                envelope.EventId = envelope.IsFlushMarker ? _recorder.LastEventId
                    : envelope.BatchEventSize > 0 ? _recorder.AppendBatch(envelope.Payload, envelope.BatchEventSize, envelope.Type)
                    : _recorder.Append(envelope.Payload, envelope.Type);
            }
            catch (Exception e) when (e is WalException or IOException or ObjectDisposedException)
            {
                Interlocked.Add(ref _failed, envelope.Count);
                envelope.Fail(e);
                continue;
            }

            Volatile.Write(ref _lastAppendedId, _recorder.LastEventId);
            if (!envelope.IsFlushMarker)
            {
                Interlocked.Add(ref _appended, envelope.Count);
            }

            switch (envelope.Wait)
            {
                case SubmitWait.None:
                    envelope.Release();
                    break;
                case SubmitWait.Appended:
                    envelope.Complete();
                    break;
                case SubmitWait.Committed:
                    _awaitingCommit.Add(envelope);
                    break;
                default:
                    _awaitingDurable.Add(envelope);
                    break;
            }
        }

        return count;
    }

    private void CommitAndComplete(bool queueDry)
    {
        _recorder.Commit();
        foreach (EventEnvelope envelope in _awaitingCommit)
        {
            envelope.Complete();
        }

        _awaitingCommit.Clear();
        if (_awaitingDurable.Count > 0 && queueDry && _recorder.Options.Durability == DurabilityPolicy.None)
        {
            _recorder.Flush(); // nothing else would make them durable
        }

        CompleteDurable(force: false);
    }

    private void CompleteDurable(bool force)
    {
        if (_awaitingDurable.Count == 0)
        {
            return;
        }

        long durable = _recorder.DurableEventId;
        int kept = 0;
        for (int i = 0; i < _awaitingDurable.Count; i++)
        {
            EventEnvelope envelope = _awaitingDurable[i];
            if (force || envelope.LastEventId <= durable)
            {
                envelope.Complete();
            }
            else
            {
                _awaitingDurable[kept++] = envelope;
            }
        }

        _awaitingDurable.RemoveRange(kept, _awaitingDurable.Count - kept);
    }

    private void Idle()
    {
        if (_awaitingDurable.Count > 0)
        {
            // Group commit: one background flush completes every waiter up to its watermark.
            _recorder.WaitForDurable(_awaitingDurable[^1].LastEventId, TimeSpan.FromMilliseconds(1));
            return;
        }

        var spin = default(SpinWait);
        for (int i = 0; i < 50 && _queue.Count == 0 && !_stopping; i++)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (_queue.Count > 0 || _stopping)
        {
            return;
        }

        _wake.Reset();
        Volatile.Write(ref _sleeping, 1);
        if (_queue.Count == 0 && !_stopping)
        {
            _wake.Wait(TimeSpan.FromMilliseconds(100));
        }

        Volatile.Write(ref _sleeping, 0);
    }

    private void FailAll(Exception failure)
    {
        foreach (EventEnvelope envelope in _awaitingCommit.Concat(_awaitingDurable))
        {
            envelope.Fail(failure);
        }

        _awaitingCommit.Clear();
        _awaitingDurable.Clear();
        lock (_drainLock) // once the writer has ended, a producer may drain too
        {
            while (_queue.TryDequeue(out EventEnvelope? envelope))
            {
                envelope.Fail(failure);
            }
        }
    }
}
