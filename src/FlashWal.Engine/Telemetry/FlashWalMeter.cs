using System.Diagnostics.Metrics;

namespace FlashWal.Telemetry;

/// <summary>
/// The <see cref="Meter"/> named "FlashWal", for <c>dotnet-counters</c> and OpenTelemetry. Every
/// instrument is observable: a collector reads the recorders' own lock-free counters and histograms
/// when it collects, so the hot path never calls into <see cref="System.Diagnostics.Metrics"/>.
/// Each measurement carries a <c>directory</c> tag; latencies are gauges with a <c>quantile</c> tag.
/// </summary>
public static class FlashWalMeter
{
    /// <summary>The meter's name.</summary>
    public const string Name = "FlashWal";

    private static readonly object Gate = new();
    private static readonly List<Func<RecorderTelemetrySnapshot>> Sources = [];
    private static readonly Meter Meter = new(Name, typeof(FlashWalMeter).Assembly.GetName().Version?.ToString());

    static FlashWalMeter()
    {
        Counter("flashwal.recorder.events", "{event}", "Events appended", s => s.Events);
        Counter("flashwal.recorder.commits", "{commit}", "Commits", s => s.Commits);
        Counter("flashwal.recorder.rotations", "{rotation}", "Segment rotations", s => s.Rotations);
        Counter("flashwal.preparer.misses", "{rotation}", "Rotations that found no prepared segment", s => s.PreparerMisses);
        Counter("flashwal.preparer.failures", "{attempt}", "Failed segment creations", s => s.PreparerFailures);
        Counter("flashwal.maintainer.closes", "{segment}", "Segments closed", s => s.SegmentsClosed);
        Counter("flashwal.maintainer.deletes", "{segment}", "Segments deleted by retention", s => s.SegmentsDeleted);
        Counter("flashwal.maintainer.syncs", "{sync}", "Flushes of the active segment", s => s.Syncs);
        Counter("flashwal.checkpoint.writes", "{checkpoint}", "Checkpoints written", s => s.Checkpoints);
        Gauge("flashwal.recorder.committed_id", "Committed event id", s => s.CommittedEventId);
        Gauge("flashwal.recorder.durable_id", "Durable event id", s => s.DurableEventId);
        Gauge("flashwal.recorder.durable_lag", "Committed events not yet durable", s => s.DurableLag);
        Latency("flashwal.recorder.append.latency", "Append latency", s => s.Append);
        Latency("flashwal.recorder.rotation.latency", "Writer-thread time of a rotation", s => s.Rotation);
        Latency("flashwal.recorder.seal.latency", "Block seal on commit", s => s.Seal);
        Latency("flashwal.preparer.create.latency", "Segment creation", s => s.PreparerCreate);
        Latency("flashwal.preparer.wait.latency", "Writer wait for a prepared segment", s => s.PreparerWait);
        Latency("flashwal.maintainer.close.latency", "Segment close", s => s.Close);
        Latency("flashwal.maintainer.sync.latency", "Flush of the active segment", s => s.Sync);
        Latency("flashwal.checkpoint.latency", "Checkpoint write", s => s.Checkpoint);
    }

    /// <summary>Publishes a source of snapshots until the returned handle is disposed.</summary>
    internal static IDisposable Register(Func<RecorderTelemetrySnapshot> source)
    {
        lock (Gate)
        {
            Sources.Add(source);
        }

        return new Registration(source);
    }

    private static List<RecorderTelemetrySnapshot> Snapshots()
    {
        Func<RecorderTelemetrySnapshot>[] sources;
        lock (Gate)
        {
            sources = [.. Sources];
        }

        return sources.Select(s => s()).ToList();
    }

    private static void Counter(string name, string unit, string description, Func<RecorderTelemetrySnapshot, long> value) =>
        Meter.CreateObservableCounter(name, () => Snapshots().Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("directory", s.Directory))), unit, description);

    private static void Gauge(string name, string description, Func<RecorderTelemetrySnapshot, long> value) =>
        Meter.CreateObservableGauge(name, () => Snapshots().Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("directory", s.Directory))), "{event}", description);

    private static void Latency(string name, string description, Func<RecorderTelemetrySnapshot, LatencySnapshot> value) =>
        Meter.CreateObservableGauge(name, () => Snapshots().SelectMany(s =>
        {
            LatencySnapshot l = value(s);
            var directory = new KeyValuePair<string, object?>("directory", s.Directory);
            return new[]
            {
                new Measurement<long>(l.P50, directory, new("quantile", "0.5")),
                new Measurement<long>(l.P99, directory, new("quantile", "0.99")),
                new Measurement<long>(l.P999, directory, new("quantile", "0.999")),
                new Measurement<long>(l.P9999, directory, new("quantile", "0.9999")),
                new Measurement<long>(l.Max, directory, new("quantile", "1")),
            };
        }), "ns", description);

    private sealed class Registration(Func<RecorderTelemetrySnapshot> source) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
            {
                Sources.Remove(source);
            }
        }
    }
}
