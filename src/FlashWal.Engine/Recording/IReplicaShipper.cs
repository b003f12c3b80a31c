namespace FlashWal.Recording;

/// <summary>
/// A shipper that copies a recorder's log to a replica, as the recorder's owner sees it: the
/// watermark it raises, and a way to let it ship the rest once the recorder is closed. The engine
/// knows no transport; the replication library implements it.
/// </summary>
public interface IReplicaShipper : IDisposable
{
    /// <summary>The replicated watermark it raises.</summary>
    ReplicationMark Mark { get; }

    /// <summary>Waits until it has shipped the whole log (the recorder closed it) or failed. False on timeout.</summary>
    bool WaitForEnd(TimeSpan timeout);
}
