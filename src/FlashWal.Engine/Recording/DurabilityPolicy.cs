namespace FlashWal.Recording;

/// <summary>When committed events are flushed to stable storage.</summary>
public enum DurabilityPolicy
{
    /// <summary>Only by the OS's own writeback, and when a segment is closed. Committed events survive a killed process, not a power loss, until then.</summary>
    None = 0,

    /// <summary>A background thread flushes committed data every <see cref="WalRecorderOptions.SyncInterval"/> and advances the durable watermark.</summary>
    Interval = 1,

    /// <summary><see cref="WalRecorder.Commit"/> returns only after the flush: every committed event is durable.</summary>
    EveryCommit = 2,
}
