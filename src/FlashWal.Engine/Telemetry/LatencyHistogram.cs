using System.Numerics;

namespace FlashWal.Telemetry;

/// <summary>
/// A log-linear histogram of non-negative values (nanoseconds): values below 64 have a bucket
/// each; above, every power-of-two range is split into 32 equal buckets, so a reported percentile
/// is within 1/32 (3.1%) of the true value. The exact minimum, maximum, count and sum are kept.
/// </summary>
/// <remarks>
/// <see cref="Record"/> is for one writer thread (plain stores, no lock, no allocation);
/// <see cref="RecordConcurrent"/> for several (interlocked). <see cref="Snapshot"/> may run on any
/// thread at any time; it reads each counter atomically, so a snapshot taken while values arrive is
/// at most a few values behind, never torn.
/// </remarks>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;       // 32 per power of two
    private const int LinearLimit = 2 * SubBuckets;          // values below 64 are exact
    private const int BucketCount = LinearLimit + (63 - SubBucketBits) * SubBuckets;

    private readonly long[] _counts = Touched(new long[BucketCount]);
    private long _count;
    private long _sum;
    private long _min = long.MaxValue;
    private long _max;

    /// <summary>
    /// Stores into every bucket once: the runtime may hand out an array in fresh pages nothing has stored
    /// into, and the first value in a bucket's page would take a page fault on the recording thread
    /// (the writer's, for appends and rotations).
    /// </summary>
    private static long[] Touched(long[] counts)
    {
        for (int i = 0; i < counts.Length; i++)
        {
            Volatile.Write(ref counts[i], 0);
        }

        return counts;
    }

    /// <summary>Records one value from the histogram's single writer thread.</summary>
    public void Record(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        int bucket = BucketOf(value);
        Volatile.Write(ref _counts[bucket], _counts[bucket] + 1);
        Volatile.Write(ref _count, _count + 1);
        Volatile.Write(ref _sum, _sum + value);
        if (value < _min)
        {
            Volatile.Write(ref _min, value);
        }

        if (value > _max)
        {
            Volatile.Write(ref _max, value);
        }
    }

    /// <summary>Records, from the single writer thread, the nanoseconds since <paramref name="startTimestamp"/> (a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> value).</summary>
    public void RecordSince(long startTimestamp) => Record(NanosecondsSince(startTimestamp));

    /// <summary>Records, from the single writer thread, a duration of <paramref name="ticks"/> <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // on the recorder writer's drain path: see WalRecorder.CompileWriterPaths
    public void RecordTicks(long ticks) => Record((long)(ticks * NanosecondsPerTick));

    private static readonly double NanosecondsPerTick = 1e9 / System.Diagnostics.Stopwatch.Frequency;

    private static long NanosecondsSince(long startTimestamp) =>
        (long)((System.Diagnostics.Stopwatch.GetTimestamp() - startTimestamp) * NanosecondsPerTick);

    /// <summary>Records the nanoseconds since <paramref name="startTimestamp"/>; safe from several threads at once.</summary>
    public void RecordConcurrentSince(long startTimestamp) => RecordConcurrent(NanosecondsSince(startTimestamp));

    /// <summary>Records one value; safe from several threads at once.</summary>
    public void RecordConcurrent(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        Interlocked.Increment(ref _counts[BucketOf(value)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, value);
        long seen;
        while (value < (seen = Volatile.Read(ref _min)) && Interlocked.CompareExchange(ref _min, value, seen) != seen)
        {
        }

        while (value > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, value, seen) != seen)
        {
        }
    }

    /// <summary>A consistent-enough copy with percentiles computed.</summary>
    public LatencySnapshot Snapshot()
    {
        long[] counts = new long[BucketCount];
        long total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
            total += counts[i];
        }

        long max = Volatile.Read(ref _max);
        long min = total == 0 ? 0 : Volatile.Read(ref _min);
        double mean = total == 0 ? 0 : (double)Volatile.Read(ref _sum) / Volatile.Read(ref _count);
        return new LatencySnapshot(total, min, max, mean,
            Percentile(counts, total, 0.50, max), Percentile(counts, total, 0.90, max), Percentile(counts, total, 0.99, max),
            Percentile(counts, total, 0.999, max), Percentile(counts, total, 0.9999, max));
    }

    /// <summary>The bucket a value falls in.</summary>
    internal static int BucketOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }

        int magnitude = 63 - BitOperations.LeadingZeroCount((ulong)value); // >= 6
        int shift = magnitude - SubBucketBits;
        return LinearLimit + ((magnitude - SubBucketBits - 1) * SubBuckets) + (int)((value >> shift) & (SubBuckets - 1));
    }

    /// <summary>The largest value that falls in <paramref name="bucket"/>.</summary>
    internal static long HighestIn(int bucket)
    {
        if (bucket < LinearLimit)
        {
            return bucket;
        }

        int range = (bucket - LinearLimit) / SubBuckets;
        int sub = (bucket - LinearLimit) % SubBuckets;
        int shift = range + 1;
        long low = ((long)(SubBuckets + sub)) << shift;
        return low + (1L << shift) - 1;
    }

    private static long Percentile(long[] counts, long total, double quantile, long max)
    {
        if (total == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestIn(i), max);
            }
        }

        return max;
    }
}

/// <summary>Percentiles of a <see cref="LatencyHistogram"/>, in the unit recorded (nanoseconds).</summary>
/// <param name="Count">Values recorded.</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value (exact).</param>
/// <param name="Mean">The mean.</param>
/// <param name="P50">Median (within 3.1%).</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="P9999">99.99th percentile.</param>
public sealed record LatencySnapshot(long Count, long Min, long Max, double Mean, long P50, long P90, long P99, long P999, long P9999);
