using FlashWal.Format;
using FlashWal.Storage;

namespace FlashWal.Recording;

/// <summary>How segments are sized and prepared.</summary>
public sealed record SegmentOptions
{
    /// <summary>Largest block length in bytes: a power of two from 4 KiB to 16 MiB. Bounds the largest event.</summary>
    public int BlockSize { get; init; } = SegmentFormat.DefaultBlockSize;

    /// <summary>Size of each segment file in bytes: a multiple of 4 KiB, at least 4 KiB plus one block, at most 1 TiB.</summary>
    public long SegmentSize { get; init; } = SegmentFormat.DefaultSegmentSize;

    /// <summary>How a new segment's pages are faulted in before the first append.</summary>
    public PrefaultMode Prefault { get; init; } = PrefaultMode.Auto;

    /// <summary>The file system segments are created, synced and closed through (a model disk in tests).</summary>
    internal Disk Disk { get; init; } = Disk.Real;

    /// <summary>The largest payload one event may carry with these options.</summary>
    public int MaxPayloadSize => SegmentFormat.MaxPayloadSize(BlockSize);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option that is out of range.</summary>
    public void Validate()
    {
        if (BlockSize < SegmentFormat.MinBlockSize || BlockSize > SegmentFormat.MaxBlockSize || (BlockSize & (BlockSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize,
                $"Block size must be a power of two from {SegmentFormat.MinBlockSize} to {SegmentFormat.MaxBlockSize} bytes.");
        }

        long min = SegmentFormat.DataOffset + (long)BlockSize;
        if (SegmentSize < min || SegmentSize > SegmentFormat.MaxSegmentSize || SegmentSize % SegmentFormat.PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize,
                $"Segment size must be a multiple of {SegmentFormat.PageSize} bytes from {min} (one block of {BlockSize} bytes plus the {SegmentFormat.DataOffset}-byte header page) to {SegmentFormat.MaxSegmentSize} bytes.");
        }

        if (!Enum.IsDefined(Prefault))
        {
            throw new ArgumentOutOfRangeException(nameof(Prefault), Prefault, "Unknown prefault mode.");
        }
    }
}
