namespace FlashWal.Replication;

/// <summary>Where a <see cref="LogShipper"/> stands.</summary>
public enum ShipperState
{
    /// <summary>Reading the stream's last message to know where to go on from (at the start, and after every failure).</summary>
    Connecting = 0,

    /// <summary>Publishing, or caught up and waiting for the log to grow.</summary>
    Shipping,

    /// <summary>No server acknowledges: the log is not shipped for now, and the lag grows. Tried again every connect timeout.</summary>
    Disconnected,

    /// <summary>The log ended (its recorder closed it or went away) and everything in it is acknowledged.</summary>
    Finished,

    /// <summary>Stopped for good by an error that a retry cannot mend (<see cref="ReplicationStatus.LastError"/>): a foreign stream, a log that does not continue the stream, damage.</summary>
    Failed,

    /// <summary>Stopped by its owner.</summary>
    Stopped,
}
