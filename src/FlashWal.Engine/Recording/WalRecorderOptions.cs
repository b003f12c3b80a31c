using FlashWal.Format;
using FlashWal.Storage;
using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>Everything a <see cref="WalRecorder"/> can be told, in one place.</summary>
public sealed record WalRecorderOptions
{
    /// <summary>Size of each segment file (a multiple of 4 KiB).</summary>
    public long SegmentSize { get; init; } = SegmentFormat.DefaultSegmentSize;

    /// <summary>Largest block (a power of two from 4 KiB to 16 MiB); bounds the largest event.</summary>
    public int BlockSize { get; init; } = SegmentFormat.DefaultBlockSize;

    /// <summary>How the staging ring (the memory the writer builds blocks in) is made resident when the recorder opens.</summary>
    public PrefaultMode Prefault { get; init; } = PrefaultMode.Auto;

    /// <summary>When committed events are flushed to stable storage.</summary>
    public DurabilityPolicy Durability { get; init; } = DurabilityPolicy.Interval;

    /// <summary>How often the background flush runs under <see cref="DurabilityPolicy.Interval"/> (1 ms to 1 hour).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How often the metadata checkpoint is written when it changed (10 ms to 1 hour).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Prepare segments on a background thread (the default). Off, every rotation creates its segment
    /// file on the writer thread: the baseline the preparer is measured against.
    /// </summary>
    public bool UsePreparer { get; init; } = true;

    /// <summary>Measure every append's latency (two clock reads per append) into the telemetry histogram.</summary>
    public bool MeasureAppendLatency { get; init; }

    /// <summary>
    /// Where the recorder's background threads (preparer, flusher, maintainer) run: cores apart from
    /// the writer's, and a nice value so that they yield on a shared core. <see cref="ThreadPlacement.Anywhere"/> by default.
    /// The writer is the caller's thread: place it with <see cref="ThreadPlacement.ApplyToCurrentThread"/>
    /// (or <see cref="WalRecorderHostOptions.WriterThread"/> for a host). <see cref="WalRecorder.Open"/>
    /// returns once every background thread has placed itself. A new thread starts on the cores of
    /// the thread that creates it, so with <see cref="ThreadPlacement.Anywhere"/> the background
    /// threads keep the opener's cores: pin the writer after opening, or give them cores here.
    /// </summary>
    public ThreadPlacement BackgroundThreads { get; init; } = ThreadPlacement.Anywhere;

    /// <summary>Which sealed, durable segments to keep, compress or delete.</summary>
    public RetentionPolicy Retention { get; init; } = RetentionPolicy.KeepEverything;

    /// <summary>The segment options these recorder options imply (a new object each call: read it once, off the hot path).</summary>
    public SegmentOptions Segments => new() { SegmentSize = SegmentSize, BlockSize = BlockSize, Prefault = Prefault, Disk = Disk };

    /// <summary>The file system the recorder changes files through (a model disk that simulates power cuts, in tests).</summary>
    internal Disk Disk { get; init; } = Disk.Real;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Segments.Validate();
        if (!Enum.IsDefined(Durability))
        {
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, "Unknown durability policy.");
        }

        if (SyncInterval < TimeSpan.FromMilliseconds(1) || SyncInterval > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(SyncInterval), SyncInterval, "The sync interval must be from 1 ms to 1 hour.");
        }

        if (CheckpointInterval < TimeSpan.FromMilliseconds(10) || CheckpointInterval > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), CheckpointInterval, "The checkpoint interval must be from 10 ms to 1 hour.");
        }

        ArgumentNullException.ThrowIfNull(BackgroundThreads, nameof(BackgroundThreads));
        BackgroundThreads.Validate(nameof(BackgroundThreads));
        ArgumentNullException.ThrowIfNull(Retention, nameof(Retention));
        Retention.Validate();
    }
}
