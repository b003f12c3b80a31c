namespace FlashWal.Recovery;

/// <summary>What recovery does when it meets damage or a gap.</summary>
public enum RecoveryMode
{
    /// <summary>Stop at the first integrity failure or gap, with an error that names file, offset, block and ids.</summary>
    Strict = 0,

    /// <summary>Replay every event that verifies, skip damaged blocks and segments, report every lost id range.</summary>
    Salvage,
}
