using System.Diagnostics;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Telemetry;

namespace FlashWal.Hosting;

/// <summary>Where a <see cref="NamedRecorder"/> is in its life.</summary>
public enum RecorderState
{
    /// <summary>It takes events.</summary>
    Running = 0,

    /// <summary>It was stopped: everything it took is committed, flushed and closed.</summary>
    Stopped = 1,

    /// <summary>Stopping it failed (<see cref="NamedRecorder.Failure"/> says why): what was committed is on disk, the rest may not be.</summary>
    Failed = 2,
}

/// <summary>
/// A running <see cref="WalRecorderHost"/> with a name, kept in a <see cref="RecorderRegistry"/>: the
/// object <c>Start-WalRecorder</c> returns and <c>Get-WalRecorder</c> lists. Its properties are live:
/// each read shows the recorder as it is now; once stopped they keep their final values.
/// </summary>
/// <remarks>Any thread may submit, wait, read or stop; events of one thread keep their order.</remarks>
public sealed class NamedRecorder
{
    private readonly RecorderRegistry _registry;
    private readonly WalRecorderHost _host;
    private readonly object _stopGate = new();
    private volatile int _state;
    private int _segmentsAtStop;

    internal NamedRecorder(RecorderRegistry registry, string name, WalRecorderHost host)
    {
        _registry = registry;
        _host = host;
        Name = name;
        StartedAt = DateTimeOffset.Now;
        FirstEventId = host.LastEventId + 1;
    }

    /// <summary>The recorder's name, unique among the running recorders of the process (case is ignored).</summary>
    public string Name { get; }

    /// <summary>Full path of the WAL directory.</summary>
    public string Path => _host.Directory;

    /// <summary>Running, stopped, or failed to stop.</summary>
    public RecorderState State => (RecorderState)_state;

    /// <summary>When it was started (local time).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it was stopped, or null while it runs.</summary>
    public DateTimeOffset? StoppedAt { get; private set; }

    /// <summary>The id the first event of this recorder gets (the log's last id when it was opened, plus 1).</summary>
    public long FirstEventId { get; }

    /// <summary>Id of the last event appended (in the whole log; 0 when it is empty).</summary>
    public long LastEventId => _host.LastEventId;

    /// <summary>Every event up to this id is sealed in a block: it survives a killed process.</summary>
    public long CommittedEventId => _host.CommittedEventId;

    /// <summary>Every event up to this id is flushed: it survives a power loss.</summary>
    public long DurableEventId => _host.DurableEventId;

    /// <summary>Events this recorder appended since it was started.</summary>
    public long Events => _host.Appended;

    /// <summary>Events the writer thread could not append (an I/O error, a full disk): they are not in the log.</summary>
    public long FailedEvents => _host.Failed;

    /// <summary>Events submitted and not yet appended.</summary>
    public int QueueLength => State == RecorderState.Running ? _host.QueueLength : 0;

    /// <summary>
    /// Segment files of the log (plain and compressed, up to the one being written; the empty ones
    /// prepared ahead are not counted); when stopped, as many as there were then.
    /// </summary>
    public int Segments => State == RecorderState.Running ? CountSegments(ActiveSegment) : _segmentsAtStop;

    /// <summary>Index of the segment being written (of the last one written, once stopped).</summary>
    public long ActiveSegment => _host.ActiveSegmentIndex;

    /// <summary>When committed events are flushed.</summary>
    public DurabilityPolicy Durability => _host.Options.Recorder.Durability;

    /// <summary>Everything it was started with.</summary>
    public WalRecorderHostOptions Options => _host.Options;

    /// <summary>What opening the log found: a torn tail it closed, a checkpoint it rebuilt.</summary>
    public IReadOnlyList<Finding> OpenFindings => _host.OpenFindings;

    /// <summary>Why stopping failed, when <see cref="State"/> is <see cref="RecorderState.Failed"/>.</summary>
    public WalException? Failure { get; private set; }

    /// <summary>Queues an event and returns at once: no wait, no flush.</summary>
    /// <exception cref="WalEventTooLargeException">The payload does not fit in a block.</exception>
    /// <exception cref="WalRecorderStoppedException">The recorder was stopped.</exception>
    public void Submit(ReadOnlySpan<byte> payload, ushort type = 0)
    {
        try
        {
            _host.Submit(payload, type, SubmitWait.None);
        }
        catch (ObjectDisposedException e)
        {
            throw Stopped(e);
        }
    }

    /// <summary>Queues an event; the task completes with its id once it reached <paramref name="wait"/> (<see cref="SubmitWait.Appended"/> or later).</summary>
    /// <exception cref="WalEventTooLargeException">The payload does not fit in a block.</exception>
    /// <exception cref="WalRecorderStoppedException">The recorder was stopped.</exception>
    /// <exception cref="WalRecorderNotReplicatedException"><see cref="SubmitWait.Replicated"/> for a recorder that is not replicated; nothing was submitted.</exception>
    public ValueTask<long> SubmitAsync(ReadOnlySpan<byte> payload, ushort type, SubmitWait wait)
    {
        if (wait == SubmitWait.None)
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "Wait for at least the append to get an id.");
        }

        try
        {
            if (wait == SubmitWait.Replicated)
            {
                ReplicationMark mark = Shipper?.Mark ?? throw new WalRecorderNotReplicatedException(Name, Path);
                return new ValueTask<long>(ThenReplicated(_host.SubmitAsync(payload, type, SubmitWait.Committed), mark));
            }

            return _host.SubmitAsync(payload, type, wait);
        }
        catch (ObjectDisposedException e)
        {
            throw Stopped(e);
        }
    }

    /// <summary>
    /// Waits until every event submitted before the call is durable (under any durability policy:
    /// with <see cref="DurabilityPolicy.None"/> the writer flushes for it). False when
    /// <paramref name="timeout"/> passed first (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public bool WaitForDurable(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        FlushSubmitted(timeout, cancellationToken) is not null;

    /// <summary>
    /// Makes every event submitted before the call durable and returns the id of the last of them
    /// (queued events count: the flush request queues behind them); null when <paramref name="timeout"/> passed first.
    /// </summary>
    private long? FlushSubmitted(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long target = LastEventId;
        try
        {
            return _host.Flush(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            // Stopped meanwhile: closing appended and flushed everything queued, so the log's last id covers the call's events.
            return DurableEventId >= target ? LastEventId : null;
        }
    }

    /// <summary>
    /// Waits until the event <paramref name="eventId"/> is durable; it may not have been submitted
    /// yet. False when <paramref name="timeout"/> passed first, or when the recorder stopped before
    /// the event came.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public bool WaitForDurable(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (DurableEventId >= eventId)
            {
                return true;
            }

            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - clock.Elapsed;
            if ((left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero) || State != RecorderState.Running)
            {
                return DurableEventId >= eventId;
            }

            if (LastEventId >= eventId)
            {
                WaitForDurable(left, cancellationToken);
                continue;
            }

            // Not appended yet (queued, or still to be submitted by someone): look again shortly.
            TimeSpan nap = TimeSpan.FromMilliseconds(1);
            cancellationToken.WaitHandle.WaitOne(left != Timeout.InfiniteTimeSpan && left < nap ? left : nap);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The shipper that replicates the log, once <see cref="Replicate"/> started one; null while the log is not replicated.</summary>
    public IReplicaShipper? Shipper { get; private set; }

    /// <summary>Every event up to this id is stored by a quorum of the replica's servers; 0 while the log is not replicated.</summary>
    public long ReplicatedEventId => Shipper?.Mark.EventId ?? 0;

    /// <summary>
    /// Starts replicating the log: <paramref name="start"/> gets the recorder's replicated watermark
    /// and returns the shipper that raises it. From then on retention keeps what is not replicated,
    /// and <see cref="Close"/> lets the shipper ship the rest before it stops it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The log is replicated already.</exception>
    public IReplicaShipper Replicate(Func<ReplicationMark, IReplicaShipper> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        lock (_stopGate)
        {
            if (State != RecorderState.Running)
            {
                throw Stopped(null);
            }

            return Shipper = start(_host.AttachReplication());
        }
    }

    /// <summary>
    /// Waits until <paramref name="eventId"/> (by default: every event submitted before the call, those
    /// still queued included) is replicated. False when <paramref name="timeout"/> passed first.
    /// </summary>
    /// <exception cref="WalRecorderNotReplicatedException">The log is not replicated.</exception>
    /// <exception cref="WalReplicationStoppedException">Replication stopped for good: the event may never be replicated.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public bool WaitForReplicated(long? eventId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ReplicationMark mark = Shipper?.Mark ?? throw new WalRecorderNotReplicatedException(Name, Path);
        var clock = Stopwatch.StartNew();
        long target;
        if (eventId is long id)
        {
            target = id;
            if (mark.EventId < target && !WaitForDurable(target, timeout, cancellationToken)) // committed (and flushed) first: only sealed blocks ship
            {
                return false;
            }
        }
        else if (FlushSubmitted(timeout, cancellationToken) is long flushed)
        {
            // Not LastEventId: events still queued when the call came have no id yet, and they are part of
            // "everything written before the call". The flush appends them first and says up to which id it went.
            target = flushed;
        }
        else
        {
            return false;
        }

        TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - clock.Elapsed;
        return mark.Wait(target, left < TimeSpan.Zero && left != Timeout.InfiniteTimeSpan ? TimeSpan.Zero : left, cancellationToken);
    }

    private static async Task<long> ThenReplicated(ValueTask<long> committed, ReplicationMark mark)
    {
        long id = await committed.ConfigureAwait(false);
        await mark.WaitAsync(id, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        return id;
    }

    /// <summary>Holds or releases the host's writer thread (tests keep events queued with it).</summary>
    internal void PauseWriter(bool paused) => _host.PauseWriter(paused);

    /// <summary>The recorder's measurements now.</summary>
    /// <exception cref="WalRecorderStoppedException">The recorder was stopped.</exception>
    public RecorderTelemetrySnapshot GetTelemetry() =>
        State == RecorderState.Running ? _host.GetTelemetry() : throw Stopped(null);

    /// <summary>Commits, flushes and closes the recorder and takes it out of its registry; nothing it took is lost. Does nothing when it is stopped already.</summary>
    /// <exception cref="WalRecorderCloseException">Closing failed (<see cref="State"/> is then <see cref="RecorderState.Failed"/>).</exception>
    public void Stop() => _registry.Stop(this);

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Closes the host once, whoever calls first; later calls wait for it and return.</summary>
    internal void Close()
    {
        lock (_stopGate)
        {
            if (State != RecorderState.Running)
            {
                return;
            }

            try
            {
                _host.Dispose();
                _state = (int)RecorderState.Stopped;
                StopShipper();
            }
            catch (WalException e)
            {
                Failure = new WalRecorderCloseException(Name, Path, e.InnerException ?? e);
                _state = (int)RecorderState.Failed;
                throw Failure;
            }
            finally
            {
                StoppedAt = DateTimeOffset.Now;
                _segmentsAtStop = CountSegments(long.MaxValue);
            }
        }
    }

    /// <summary>How long a stopped recorder's shipper may take to ship the rest of the log.</summary>
    private static readonly TimeSpan ShipperDrain = TimeSpan.FromSeconds(30);

    /// <summary>The log is closed: its shipper ships the rest (within <see cref="ShipperDrain"/>) and stops.</summary>
    private void StopShipper()
    {
        if (Shipper is { } shipper)
        {
            shipper.WaitForEnd(ShipperDrain);
            shipper.Dispose();
        }
    }

    /// <summary>The error for an event offered or waited on after the recorder stopped.</summary>
    internal WalRecorderStoppedException Stopped(Exception? inner) => new(Name, Path, inner);

    private int CountSegments(long upToIndex)
    {
        try
        {
            return WalDirectory.List(Path).Segments.Count(s => s.Index <= upToIndex);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or WalException)
        {
            return 0;
        }
    }
}
