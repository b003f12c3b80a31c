namespace FlashWal.Format;

/// <summary>Wall-clock time as nanoseconds since the Unix epoch (UTC), the unit of every timestamp on disk.</summary>
public static class WalClock
{
    /// <summary>Now, in nanoseconds since 1970-01-01T00:00:00Z (100 ns resolution).</summary>
    public static long UnixNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Converts a timestamp from disk into a <see cref="DateTimeOffset"/>.</summary>
    public static DateTimeOffset ToDateTimeOffset(long unixNs) => DateTimeOffset.UnixEpoch.AddTicks(unixNs / 100);

    /// <summary>
    /// A timestamp from disk as ISO-8601 UTC with all nine digits of its nanoseconds, which
    /// <see cref="DateTime"/> (100 ns) would round away: <c>2023-11-14T22:13:20.000000001Z</c>.
    /// </summary>
    public static string ToIso8601(long unixNs)
    {
        long seconds = Math.DivRem(unixNs, 1_000_000_000L, out long nanoseconds);
        if (nanoseconds < 0)
        {
            seconds--; // before 1970: the fraction counts forward from the earlier second
            nanoseconds += 1_000_000_000L;
        }

        DateTime second = DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{second:yyyy'-'MM'-'dd'T'HH':'mm':'ss}.{nanoseconds:D9}Z");
    }
}
