using System.Diagnostics;
using FlashWal.Errors;

namespace FlashWal.Recording;

/// <summary>
/// The replicated watermark of a log: every event up to <see cref="EventId"/> is held by a replica
/// that acknowledged it (for NATS JetStream: stored by a quorum of the stream's servers). Advanced
/// by a shipper, never by the recorder, and only upwards; read and waited on from any thread. It
/// knows nothing of the transport, so the recorder, the host and the cmdlets expose it as they
/// expose the committed and durable marks. While a mark is attached to a recorder, retention keeps
/// every segment holding an event above it (<see cref="WalRecorder.AttachReplication"/>).
/// </summary>
public sealed class ReplicationMark
{
    private long _eventId;
    private long _advancedAt = Stopwatch.GetTimestamp();
    private volatile Exception? _failure;
    private readonly WatermarkWait _wait;

    /// <summary>A mark at 0, for a shipper to raise.</summary>
    public ReplicationMark() => _wait = new WatermarkWait(() => EventId, ThrowIfFailed);

    /// <summary>Every event up to this id is replicated (0 before the first acknowledgement).</summary>
    public long EventId => Volatile.Read(ref _eventId);

    /// <summary>When <see cref="EventId"/> last moved (a <see cref="Stopwatch"/> timestamp; the mark's creation before that).</summary>
    public long AdvancedAt => Volatile.Read(ref _advancedAt);

    /// <summary>Why replication stopped for good (the shipper gave up: a refused stream, a damaged log); null while it goes on.</summary>
    public Exception? Failure => _failure;

    /// <summary>Raises the mark to <paramref name="eventId"/> (a lower id changes nothing) and wakes the waiters.</summary>
    public void Advance(long eventId)
    {
        long seen = Volatile.Read(ref _eventId);
        while (eventId > seen)
        {
            long was = Interlocked.CompareExchange(ref _eventId, eventId, seen);
            if (was == seen)
            {
                Volatile.Write(ref _advancedAt, Stopwatch.GetTimestamp());
                Wake();
                return;
            }

            seen = was;
        }
    }

    /// <summary>Records why replication stopped for good; waits then throw it instead of waiting on.</summary>
    public void Fail(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        _failure ??= failure;
        Wake();
    }

    /// <summary>A new shipper raises the mark from now on: waits no longer throw the failure of the one before.</summary>
    public void Revive() => _failure = null;

    /// <summary>Waits until <paramref name="eventId"/> is replicated. False on timeout (<see cref="Timeout.InfiniteTimeSpan"/>: none).</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WalReplicationStoppedException">Replication stopped for good (<see cref="Failure"/>), so the event may never be replicated.</exception>
    public bool Wait(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) => _wait.Wait(eventId, timeout, cancellationToken);

    /// <summary>Waits asynchronously until <paramref name="eventId"/> is replicated. False on timeout.</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WalReplicationStoppedException">Replication stopped for good (<see cref="Failure"/>).</exception>
    public Task<bool> WaitAsync(long eventId, TimeSpan timeout, CancellationToken cancellationToken = default) => _wait.WaitAsync(eventId, timeout, cancellationToken);

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new WalReplicationStoppedException(failure);
        }
    }

    private void Wake() => _wait.Wake();
}
