namespace FlashWal.Telemetry;

/// <summary>
/// What a recorder measures. Histograms are in nanoseconds. Each is written by one thread (the
/// writer thread or the maintainer) and read by anyone.
/// </summary>
public sealed class RecorderTelemetry
{
    private long _events;
    private long _commits;
    private long _segmentsClosed;
    private long _segmentsDeleted;
    private long _syncs;
    private long _checkpoints;
    private long _handOffStalls;
    private long _checkpointFailures;
    private long _compressions;
    private long _compressionFailures;

    private string? _placementFailure;

    /// <summary>Why a background thread could not be placed as <c>BackgroundThreads</c> asked (it runs anywhere then); null when none failed.</summary>
    public string? PlacementFailure => Volatile.Read(ref _placementFailure);

    /// <summary>Background thread <paramref name="thread"/> runs where <paramref name="placement"/> says, or, when the kernel refuses, anywhere, with the reason kept in <see cref="PlacementFailure"/>.</summary>
    internal void PlaceBackgroundThread(Threading.ThreadPlacement placement, string thread)
    {
        try
        {
            placement.ApplyToCurrentThread();
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
        {
            Interlocked.CompareExchange(ref _placementFailure, $"the {thread}: {e.Message}", null);
        }
    }

    /// <summary>Latency of each append (only with <c>MeasureAppendLatency</c>).</summary>
    public LatencyHistogram Append { get; } = new();

    /// <summary>Latency of the appends that performed a rotation (only with <c>MeasureAppendLatency</c>).</summary>
    public LatencyHistogram RotationAppend { get; } = new();

    /// <summary>Time to seal a block on commit.</summary>
    public LatencyHistogram Seal { get; } = new();

    /// <summary>Time a rotation took on the writer thread (taking the next segment and starting it; the hand-over's queue entry is not included), recorded by the staging ring's drainer.</summary>
    public LatencyHistogram Rotation { get; } = new();

    /// <summary>Time the maintainer took to close a segment (sync, summary, sync).</summary>
    public LatencyHistogram Close { get; } = new();

    /// <summary>Time of each background or on-demand flush of the active segment.</summary>
    public LatencyHistogram Sync { get; } = new();

    /// <summary>Time to write the metadata checkpoint.</summary>
    public LatencyHistogram Checkpoint { get; } = new();

    /// <summary>How far the durable watermark was behind the committed one at each sync (events).</summary>
    public LatencyHistogram DurableLag { get; } = new();

    /// <summary>The segment preparer's measurements.</summary>
    public PreparerTelemetry Preparer { get; } = new();

    /// <summary>Events appended.</summary>
    public long Events => Volatile.Read(ref _events);

    /// <summary>Commits (block seals requested by the application).</summary>
    public long Commits => Volatile.Read(ref _commits);

    /// <summary>Segments closed by the maintainer.</summary>
    public long SegmentsClosed => Volatile.Read(ref _segmentsClosed);

    /// <summary>Segments deleted by retention.</summary>
    public long SegmentsDeleted => Volatile.Read(ref _segmentsDeleted);

    /// <summary>Flushes of the active segment.</summary>
    public long Syncs => Volatile.Read(ref _syncs);

    /// <summary>Checkpoints written.</summary>
    public long Checkpoints => Volatile.Read(ref _checkpoints);

    /// <summary>Segments compressed into containers.</summary>
    public long Compressions => Volatile.Read(ref _compressions);

    /// <summary>Compressions that failed (the original was kept).</summary>
    public long CompressionFailures => Volatile.Read(ref _compressionFailures);

    /// <summary>Checkpoint writes that failed (the checkpoint is a hint; recording goes on).</summary>
    public long CheckpointFailures => Volatile.Read(ref _checkpointFailures);

    /// <summary>Rotations that waited because the maintainer's ring of segments to close was full.</summary>
    public long HandOffStalls => Volatile.Read(ref _handOffStalls);

    internal void AddEvents(long count) => Volatile.Write(ref _events, _events + count);

    internal void CountCommit() => Volatile.Write(ref _commits, _commits + 1);

    internal void CountClose() => Interlocked.Increment(ref _segmentsClosed);

    internal void CountDelete() => Interlocked.Increment(ref _segmentsDeleted);

    internal void CountSync() => Interlocked.Increment(ref _syncs);

    internal void CountCheckpoint() => Interlocked.Increment(ref _checkpoints);

    internal void CountCompression() => Interlocked.Increment(ref _compressions);

    internal void CountCompressionFailure() => Interlocked.Increment(ref _compressionFailures);

    internal void CountCheckpointFailure() => Interlocked.Increment(ref _checkpointFailures);

    internal void CountHandOffStall() => Volatile.Write(ref _handOffStalls, _handOffStalls + 1);
}
