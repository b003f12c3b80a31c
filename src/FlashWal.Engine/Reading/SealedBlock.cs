namespace FlashWal.Reading;

/// <summary>
/// One sealed block of a log as a <see cref="WalTailer"/> verified it, in place in the segment's
/// mapping: its bytes (block header and records, exactly as in the file) and where they lie. Valid
/// until the next call on the tailer. What a reader that copies blocks as they are (replication)
/// works with: placed at <see cref="Offset"/> in segment <see cref="SegmentIndex"/>, the blocks of a
/// segment are its data area byte for byte.
/// </summary>
public readonly ref struct SealedBlock
{
    internal SealedBlock(long segmentIndex, long offset, ReadOnlySpan<byte> bytes, int recordCount, long firstEventId, long lastEventId, uint chain)
    {
        SegmentIndex = segmentIndex;
        Offset = offset;
        Bytes = bytes;
        RecordCount = recordCount;
        FirstEventId = firstEventId;
        LastEventId = lastEventId;
        Chain = chain;
    }

    /// <summary>The index of the segment that holds the block.</summary>
    public long SegmentIndex { get; }

    /// <summary>The block's offset in its segment file.</summary>
    public long Offset { get; }

    /// <summary>The whole block, header and records, as in the file.</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>Events in the block.</summary>
    public int RecordCount { get; }

    /// <summary>The block's first event id.</summary>
    public long FirstEventId { get; }

    /// <summary>The block's last event id.</summary>
    public long LastEventId { get; }

    /// <summary>The chain CRC of the block: the seed the next block of the log must carry (FORMAT.md §7).</summary>
    public uint Chain { get; }
}
