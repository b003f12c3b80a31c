namespace FlashWal.Errors;

/// <summary>
/// A copy of a log taken elsewhere (replication, restore) that cannot be placed or trusted: parts out
/// of order, a part of another log, a part outside its segment. The message names the part and the
/// file; <see cref="ErrorId"/> says which rule it broke.
/// </summary>
public sealed class WalReplicaException(string errorId, string message, string? path = null, Exception? innerException = null)
    : WalException(message, path, innerException)
{
    /// <summary>Parts of a segment that do not follow each other (a gap, a repeat, a block after the close).</summary>
    public const string OutOfOrderErrorId = "WalReplicaOutOfOrder";

    /// <summary>A part of another log than the one being copied.</summary>
    public const string ForeignLogErrorId = "WalReplicaForeignLog";

    /// <summary>A part whose bytes are not what it says (a bad header, a summary that disagrees with the blocks).</summary>
    public const string BadPartErrorId = "WalReplicaBadPart";

    /// <inheritdoc />
    public override string ErrorId { get; } = errorId;
}

/// <summary>A wait for replication that can never end: the shipper stopped for good (the inner exception says why).</summary>
public sealed class WalReplicationStoppedException(Exception reason)
    : WalException($"Replication stopped: {reason.Message}", (reason as WalException)?.Path, reason)
{
    /// <inheritdoc />
    public override string ErrorId => "WalReplicationStopped";
}
