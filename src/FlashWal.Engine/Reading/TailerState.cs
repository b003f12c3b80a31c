namespace FlashWal.Reading;

/// <summary>Where a <see cref="WalTailer"/> stands.</summary>
public enum TailerState
{
    /// <summary>A recorder holds the log (or none has written it yet): more events may come.</summary>
    Following = 0,

    /// <summary>
    /// Ended: the recorder closed the log cleanly (its last segment has a summary, or its unused
    /// active segment was discarded at close) and every event in it has been read.
    /// </summary>
    Closed,

    /// <summary>
    /// Ended: the recorder released the directory without closing its last segment (its process was
    /// killed or crashed). Every sealed event has been read; anything after them was never committed.
    /// </summary>
    WriterGone,
}
