namespace FlashWal.Telemetry;

/// <summary>What the segment preparer measures.</summary>
public sealed class PreparerTelemetry
{
    private long _misses;
    private long _failures;
    private long _writerCreated;

    /// <summary>Time to create a segment file (exclusive create, preallocation, header, rename), in ns.</summary>
    public LatencyHistogram Create { get; } = new();

    /// <summary>Time the writer thread spent getting a prepared segment at a rotation, in ns.</summary>
    public LatencyHistogram Wait { get; } = new();

    /// <summary>Rotations that found no prepared segment ready.</summary>
    public long Misses => Volatile.Read(ref _misses);

    /// <summary>Of those, the rotations whose segment the writer thread created itself (the preparer was not already creating it).</summary>
    public long WriterCreated => Volatile.Read(ref _writerCreated);

    /// <summary>Failed attempts to create a segment (retried).</summary>
    public long Failures => Volatile.Read(ref _failures);

    internal void CountMiss() => Interlocked.Increment(ref _misses);

    internal void CountWriterCreated() => Interlocked.Increment(ref _writerCreated);

    internal void CountFailure() => Interlocked.Increment(ref _failures);
}
