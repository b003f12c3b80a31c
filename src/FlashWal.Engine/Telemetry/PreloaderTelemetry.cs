namespace FlashWal.Telemetry;

/// <summary>What recovery's segment preloader and the replay thread's switches measure.</summary>
public sealed class PreloaderTelemetry
{
    private long _failures;
    private long _synchronousCloses;
    private long _mappedSegments;

    /// <summary>Opening, mapping and fully verifying a segment, in ns.</summary>
    public LatencyHistogram Open { get; } = new();

    /// <summary>Unmapping and closing a finished segment, in ns (by the preloader, or by the replay thread when the finished ring is full or the preloader stopping).</summary>
    public LatencyHistogram Close { get; } = new();

    /// <summary>The replay thread's wait for a prepared segment, in ns (written by the replay thread only).</summary>
    public LatencyHistogram Wait { get; } = new();

    /// <summary>A whole segment switch on the replay thread, in ns (written by the replay thread only).</summary>
    public LatencyHistogram Switch { get; } = new();

    /// <summary>Segments that could not be opened (handed to the replay thread as failures).</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>Finished readers the replay thread closed itself because the finished ring was full.</summary>
    public long SynchronousCloses => Volatile.Read(ref _synchronousCloses);

    internal void CountFailure() => Interlocked.Increment(ref _failures);

    /// <summary>
    /// Segments the preloader mapped instead of reading into one of its buffers: every segment that was
    /// open when listed (a live recorder's may grow while it is verified), and a closed one when no
    /// buffer was free (the replay held them all) while the replay had nothing prepared. Each one's
    /// pages fault as it is verified. Compressed segments are decompressed, never mapped, and not counted.
    /// </summary>
    public long MappedSegments => Volatile.Read(ref _mappedSegments);

    internal void CountMappedSegment() => Interlocked.Increment(ref _mappedSegments);

    internal void CountSynchronousClose() => Interlocked.Increment(ref _synchronousCloses);
}
