namespace FlashWal.Telemetry;

/// <summary>A recorder's measurements at one moment: what <c>Get-WalTelemetry</c> shows. Latencies in ns.</summary>
public sealed record RecorderTelemetrySnapshot
{
    /// <summary>The WAL directory.</summary>
    public required string Directory { get; init; }

    /// <summary>When the snapshot was taken.</summary>
    public required DateTimeOffset Taken { get; init; }

    /// <summary>Id of the last appended event.</summary>
    public required long LastEventId { get; init; }

    /// <summary>Committed watermark.</summary>
    public required long CommittedEventId { get; init; }

    /// <summary>Durable watermark.</summary>
    public required long DurableEventId { get; init; }

    /// <summary>Committed events not yet durable.</summary>
    public long DurableLag => CommittedEventId - DurableEventId;

    /// <summary>Index of the active segment.</summary>
    public required long ActiveSegmentIndex { get; init; }

    /// <summary>Events appended by this recorder (published every 1024).</summary>
    public required long Events { get; init; }

    /// <summary>Commits.</summary>
    public required long Commits { get; init; }

    /// <summary>Segment rotations.</summary>
    public required long Rotations { get; init; }

    /// <summary>Rotations that found no prepared segment.</summary>
    public required long PreparerMisses { get; init; }

    /// <summary>Segments the writer thread had to create itself.</summary>
    public required long WriterCreatedSegments { get; init; }

    /// <summary>Failed segment creations (retried).</summary>
    public required long PreparerFailures { get; init; }

    /// <summary>Segments closed.</summary>
    public required long SegmentsClosed { get; init; }

    /// <summary>Segments deleted by retention.</summary>
    public required long SegmentsDeleted { get; init; }

    /// <summary>Segments compressed.</summary>
    public required long Compressions { get; init; }

    /// <summary>Compressions that failed (originals kept).</summary>
    public required long CompressionFailures { get; init; }

    /// <summary>Flushes of the active segment.</summary>
    public required long Syncs { get; init; }

    /// <summary>Checkpoints written.</summary>
    public required long Checkpoints { get; init; }

    /// <summary>Checkpoint writes that failed.</summary>
    public required long CheckpointFailures { get; init; }

    /// <summary>Rotations that waited for the maintainer's ring.</summary>
    public required long HandOffStalls { get; init; }

    /// <summary>Bytes of the staging ring the writer builds blocks in (resident memory, reused lap after lap).</summary>
    public long StagingRingBytes { get; init; }

    /// <summary>How the staging ring's pages were made resident at the start (what <c>Prefault Auto</c> chose on this host).</summary>
    public Storage.PrefaultMode StagingPrefault { get; init; }

    /// <summary>Median time of a store into a staging page nothing had stored into, measured at the start after the prefault (ns, timer included).</summary>
    public double StagingFirstWriteNs { get; init; }

    /// <summary>What the prefault chose and why, in a sentence.</summary>
    public string StagingPrefaultChoice { get; init; } = "";

    /// <summary>Times the writer found the staging ring full and wrote blocks itself (or waited for the flusher).</summary>
    public long StagingStalls { get; init; }

    /// <summary>The largest distance between the event clock and the wall clock that a re-anchor found, in ns (the event clock: see <c>WalRecorder.Append</c>).</summary>
    public long ClockMaxDriftNs { get; init; }

    /// <summary>Anchors the event clock has taken (one at the start, then every 100 ms).</summary>
    public long ClockAnchors { get; init; }

    /// <summary>Where the background threads run ("anywhere", "cores 0, nice 10"), and which one the kernel refused to place, if any.</summary>
    public string BackgroundPlacement { get; init; } = "anywhere";

    /// <summary>Append latency (only with <c>MeasureAppendLatency</c>).</summary>
    public required LatencySnapshot Append { get; init; }

    /// <summary>Latency of the appends that rotated.</summary>
    public required LatencySnapshot RotationAppend { get; init; }

    /// <summary>Writer-thread time of a rotation.</summary>
    public required LatencySnapshot Rotation { get; init; }

    /// <summary>A commit on the writer thread: sealing the open block and writing what the flusher had not written yet.</summary>
    public required LatencySnapshot Seal { get; init; }

    /// <summary>Segment creation in the preparer.</summary>
    public required LatencySnapshot PreparerCreate { get; init; }

    /// <summary>Writer wait for a prepared segment.</summary>
    public required LatencySnapshot PreparerWait { get; init; }

    /// <summary>Segment close in the maintainer.</summary>
    public required LatencySnapshot Close { get; init; }

    /// <summary>Flush of the active segment.</summary>
    public required LatencySnapshot Sync { get; init; }

    /// <summary>Checkpoint write.</summary>
    public required LatencySnapshot Checkpoint { get; init; }
}
