namespace FlashWal.Reading;

/// <summary>How a <see cref="WalTailer"/> waits while nothing new is committed.</summary>
public sealed record TailerOptions
{
    /// <summary>
    /// The longest sleep between two looks at the log while it is idle (1 ms to 1 s; default 10 ms).
    /// A waiting read spins briefly, then sleeps 1 ms, doubling up to this cap while nothing changes,
    /// so this bounds the latency of the first event after a quiet spell: at most about this long
    /// plus one look (microseconds) plus the OS's timer slack. Busy logs are seen within microseconds.
    /// </summary>
    public TimeSpan MaxIdleSleep { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The least time between two probes of the directory lock while the tailer is idle (1 ms to
    /// 1 min; default 20 ms): how soon the end of the log is noticed after the recorder closes or
    /// dies. Each probe is an open, a non-blocking shared lock and a close of <c>wal.lock</c>.
    /// </summary>
    public TimeSpan LockProbeInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (MaxIdleSleep < TimeSpan.FromMilliseconds(1) || MaxIdleSleep > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIdleSleep), MaxIdleSleep, "The longest idle sleep must be from 1 ms to 1 s.");
        }

        if (LockProbeInterval < TimeSpan.FromMilliseconds(1) || LockProbeInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LockProbeInterval), LockProbeInterval, "The lock probe interval must be from 1 ms to 1 minute.");
        }
    }
}
