namespace FlashWal.Inspection;

/// <summary>What a segment file is, as a whole.</summary>
public enum SegmentState
{
    /// <summary>Closed with a summary that matches its blocks.</summary>
    Closed = 0,

    /// <summary>Never closed; every byte after its last sealed block is zero.</summary>
    Open,

    /// <summary>Never closed; unsealed bytes follow its last sealed block (a crash).</summary>
    TornTail,

    /// <summary>Never closed and holds no block (prepared, never used).</summary>
    Empty,

    /// <summary>Damage found; the blocks before it are readable.</summary>
    Damaged,

    /// <summary>Not readable as a FlashWal segment at all.</summary>
    Unreadable,
}
