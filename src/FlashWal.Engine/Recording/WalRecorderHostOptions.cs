using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>What a submitter waits for.</summary>
public enum SubmitWait
{
    /// <summary>Nothing: the event is queued (fire and forget).</summary>
    None = 0,

    /// <summary>The writer thread appended it (its id is known).</summary>
    Appended = 1,

    /// <summary>It is committed: sealed in a block, survives a killed process.</summary>
    Committed = 2,

    /// <summary>It is durable: flushed, survives a power loss.</summary>
    Durable = 3,

    /// <summary>
    /// It is replicated: stored by a quorum of the replica's servers (survives the loss of this
    /// machine). Only for a recorder that is replicated (<see cref="Hosting.NamedRecorder.Shipper"/>);
    /// the host itself waits at most for <see cref="Durable"/>.
    /// </summary>
    Replicated = 4,
}

/// <summary>What a submitter does when the queue is full.</summary>
public enum QueueFullBehavior
{
    /// <summary>Wait until there is room (spinning, then sleeping).</summary>
    Wait = 0,

    /// <summary>Fail at once: <see cref="WalRecorderHost.TrySubmit"/> returns false, the other calls throw <see cref="Errors.WalQueueFullException"/>.</summary>
    FailFast = 1,
}

/// <summary>Options of a <see cref="WalRecorderHost"/>.</summary>
public sealed record WalRecorderHostOptions
{
    /// <summary>The recorder's options.</summary>
    public WalRecorderOptions Recorder { get; init; } = new();

    /// <summary>Events the queue holds (a power of two from 2 to 2^24).</summary>
    public int QueueCapacity { get; init; } = 1 << 16;

    /// <summary>What a submitter does when the queue is full.</summary>
    public QueueFullBehavior WhenFull { get; init; } = QueueFullBehavior.Wait;

    /// <summary>The writer commits when the queue runs dry, and at least after this many events.</summary>
    public int MaxBatch { get; init; } = 4096;

    /// <summary>Where the host's writer thread runs (a core of its own, for a trading engine); <see cref="ThreadPlacement.Anywhere"/> by default.</summary>
    public ThreadPlacement WriterThread { get; init; } = ThreadPlacement.Anywhere;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Recorder, nameof(Recorder));
        Recorder.Validate();
        ArgumentNullException.ThrowIfNull(WriterThread, nameof(WriterThread));
        WriterThread.Validate(nameof(WriterThread));
        if (QueueCapacity < 2 || QueueCapacity > 1 << 24 || (QueueCapacity & (QueueCapacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "The queue capacity must be a power of two from 2 to 16777216.");
        }

        if (MaxBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "The batch limit must be at least 1.");
        }

        if (!Enum.IsDefined(WhenFull))
        {
            throw new ArgumentOutOfRangeException(nameof(WhenFull), WhenFull, "Unknown queue-full behavior.");
        }
    }
}
