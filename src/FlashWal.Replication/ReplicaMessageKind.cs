namespace FlashWal.Replication;

/// <summary>What a message of a replica stream carries (FORMAT.md §19).</summary>
public enum ReplicaMessageKind : byte
{
    /// <summary>A segment starts: the body is its 128 header bytes.</summary>
    Open = 1,

    /// <summary>Consecutive sealed blocks of a segment, as in the file, starting at the message's offset.</summary>
    Blocks = 2,

    /// <summary>Bytes of a closed segment outside its header, summary and blocks (an abandoned tail), at the message's offset.</summary>
    Stray = 3,

    /// <summary>A segment is closed: the body is its 64 summary bytes; the offset field is the file's length.</summary>
    Close = 4,
}
