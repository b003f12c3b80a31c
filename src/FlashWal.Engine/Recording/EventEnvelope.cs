using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace FlashWal.Recording;

/// <summary>
/// One submitted event on its way to the writer thread: a reusable payload buffer and a reusable
/// completion (a value-task source for async callers, an event for blocking ones). Pooled, so a
/// steady stream of submissions allocates nothing.
/// </summary>
internal sealed class EventEnvelope : IValueTaskSource<long>
{
    private ManualResetValueTaskSourceCore<long> _completion = new() { RunContinuationsAsynchronously = true };
    private ManualResetEventSlim? _signal;
    private ObjectPool<EventEnvelope>? _pool;
    private Exception? _failure;

    public byte[] Buffer { get; private set; } = new byte[256];

    public int Length { get; private set; }

    public ushort Type { get; private set; }

    public SubmitWait Wait { get; private set; }

    public bool Blocking { get; private set; }

    public long EventId { get; set; }

    /// <summary>For a batch, each event's payload size (the payload holds them one after another); 0 for one event.</summary>
    public int BatchEventSize { get; private set; }

    /// <summary>Events the envelope carries: 1, or a batch's count.</summary>
    public int Count => BatchEventSize == 0 ? 1 : Length / BatchEventSize;

    /// <summary>The id of the envelope's last event, once appended (what commit and durability wait for).</summary>
    public long LastEventId => EventId + Count - 1;

    /// <summary>A flush request, not an event: the writer appends nothing for it.</summary>
    public bool IsFlushMarker { get; private set; }

    public ReadOnlySpan<byte> Payload => Buffer.AsSpan(0, Length);

    public short Version => _completion.Version;

    public void Fill(ReadOnlySpan<byte> payload, ushort type, SubmitWait wait, bool blocking, ObjectPool<EventEnvelope> pool, bool flushMarker = false, int batchEventSize = 0)
    {
        IsFlushMarker = flushMarker;
        BatchEventSize = batchEventSize;
        Size(payload.Length);
        payload.CopyTo(Buffer);
        Type = type;
        _pool = pool;
        Arm(wait, blocking);
    }

    /// <summary>A claimed submission: the caller writes <paramref name="length"/> bytes of payload into <see cref="Buffer"/> itself, then it is armed and queued.</summary>
    public void OpenClaim(int length, ushort type, ObjectPool<EventEnvelope> pool)
    {
        IsFlushMarker = false;
        BatchEventSize = 0;
        Size(length);
        Type = type;
        _pool = pool;
        Claimed = true;
    }

    /// <summary>Whether a claim holds the envelope: it is the claimer's until submitted or cancelled.</summary>
    public bool Claimed { get; set; }

    /// <summary>Sets what the submitter waits for; resets the completion state for a new submission.</summary>
    public void Arm(SubmitWait wait, bool blocking)
    {
        Wait = wait;
        Blocking = blocking;
        _failure = null;
        EventId = 0;
        if (blocking)
        {
            (_signal ??= new ManualResetEventSlim(false, spinCount: 100)).Reset();
        }
    }

    private void Size(int length)
    {
        if (Buffer.Length < length)
        {
            Buffer = new byte[Math.Max(length, Buffer.Length * 2)]; // grows once per size class, then reused
        }

        Length = length;
    }

    /// <summary>Writer thread: the event reached what its submitter waits for.</summary>
    public void Complete()
    {
        if (Blocking)
        {
            _signal!.Set();
        }
        else
        {
            _completion.SetResult(EventId);
        }
    }

    /// <summary>Writer thread: the event could not be appended.</summary>
    public void Fail(Exception failure)
    {
        _failure = failure;
        if (Blocking)
        {
            _signal!.Set();
        }
        else
        {
            _completion.SetException(failure);
        }
    }

    /// <summary>Blocking submitter: waits, returns the id (or throws the failure), and returns the envelope to the pool.</summary>
    public long WaitAndRelease(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_signal!.Wait(timeout, cancellationToken))
        {
            // The writer still holds this envelope: it is not returned to the pool (the GC reclaims it).
            throw new TimeoutException($"The event was not {Wait.ToString().ToLowerInvariant()} within {timeout}.");
        }

        long id = EventId;
        Exception? failure = _failure;
        Release();
        return failure is null ? id : throw failure;
    }

    public long GetResult(short token)
    {
        try
        {
            return _completion.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    /// <summary>Back to the pool, ready for the next event.</summary>
    public void Release()
    {
        Claimed = false;
        _completion.Reset();
        ObjectPool<EventEnvelope>? pool = _pool;
        _pool = null;
        pool?.Return(this);
    }

    internal sealed class Policy : IPooledObjectPolicy<EventEnvelope>
    {
        public EventEnvelope Create() => new();

        public bool Return(EventEnvelope obj) => true;
    }
}
