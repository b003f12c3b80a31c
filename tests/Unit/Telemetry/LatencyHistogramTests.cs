using FlashWal.Telemetry;

namespace FlashWal.Tests.Telemetry;

public class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_are_within_the_stated_precision()
    {
        var histogram = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++)
        {
            histogram.Record(v);
        }

        LatencySnapshot s = histogram.Snapshot();
        Assert.Equal(100_000, s.Count);
        Assert.Equal(1, s.Min);
        Assert.Equal(100_000, s.Max);
        Assert.Equal(50_000.5, s.Mean, 3);
        AssertNear(50_000, s.P50);
        AssertNear(90_000, s.P90);
        AssertNear(99_000, s.P99);
        AssertNear(99_900, s.P999);
        AssertNear(99_990, s.P9999);
    }

    [Fact]
    public void Small_values_are_exact_and_the_max_is_exact()
    {
        var histogram = new LatencyHistogram();
        foreach (long v in new long[] { 3, 3, 3, 7, 63, 1_234_567_891 })
        {
            histogram.Record(v);
        }

        LatencySnapshot s = histogram.Snapshot();
        Assert.Equal(3, s.P50);
        Assert.Equal(1_234_567_891, s.Max);
        Assert.Equal(1_234_567_891, s.P9999);
    }

    [Fact]
    public void Every_bucket_bounds_its_values()
    {
        var random = new Random(5);
        for (int i = 0; i < 100_000; i++)
        {
            long v = random.NextInt64(0, long.MaxValue >> random.Next(0, 62));
            int bucket = LatencyHistogram.BucketOf(v);
            Assert.True(LatencyHistogram.HighestIn(bucket) >= v, $"{v} is above its bucket {bucket}");
            Assert.True(bucket == 0 || LatencyHistogram.HighestIn(bucket - 1) < v, $"{v} belongs to an earlier bucket than {bucket}");
        }
    }

    [Fact]
    public void Concurrent_recording_loses_nothing()
    {
        var histogram = new LatencyHistogram();
        Parallel.For(0, 4, _ =>
        {
            for (int i = 1; i <= 100_000; i++)
            {
                histogram.RecordConcurrent(i);
            }
        });
        LatencySnapshot s = histogram.Snapshot();
        Assert.Equal(400_000, s.Count);
        Assert.Equal(100_000, s.Max);
        Assert.Equal(1, s.Min);
    }

    [Fact]
    public void An_empty_histogram_reports_zeros() => Assert.Equal(new LatencySnapshot(0, 0, 0, 0, 0, 0, 0, 0, 0), new LatencyHistogram().Snapshot());

    private static void AssertNear(long expected, long actual) =>
        Assert.True(Math.Abs(actual - expected) <= expected / 32.0 + 1, $"expected {expected} within 3.1%, got {actual}");
}
