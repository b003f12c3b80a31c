namespace FlashWal.Recording;

/// <summary>Wall-clock time as nanoseconds since the Unix epoch (UTC), the unit of every timestamp on disk.</summary>
public static class WalClock
{
    /// <summary>Now, in nanoseconds since 1970-01-01T00:00:00Z (100 ns resolution).</summary>
    public static long UnixNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Converts a timestamp from disk into a <see cref="DateTimeOffset"/>.</summary>
    public static DateTimeOffset ToDateTimeOffset(long unixNs) => DateTimeOffset.UnixEpoch.AddTicks(unixNs / 100);
}
