using System.Diagnostics.Metrics;

namespace FlashWal.Replication;

/// <summary>
/// The <see cref="Meter"/> named "FlashWal.Replication", for <c>dotnet-counters</c> and
/// OpenTelemetry: each running <see cref="LogShipper"/>'s state, replicated watermark and lag (events
/// and seconds), read from its status when a collector collects. Each measurement carries the
/// <c>directory</c> and <c>stream</c> tags.
/// </summary>
public static class ReplicationMeter
{
    /// <summary>The meter's name.</summary>
    public const string Name = "FlashWal.Replication";

    private static readonly object Gate = new();
    private static readonly List<LogShipper> Shippers = [];
    private static readonly Meter Meter = new(Name, typeof(ReplicationMeter).Assembly.GetName().Version?.ToString());

    static ReplicationMeter()
    {
        Gauge("flashwal.replication.replicated_id", "{event}", "Replicated event id: stored by a quorum of the stream's servers", s => s.ReplicatedEventId);
        Gauge("flashwal.replication.lag", "{event}", "Committed events not yet replicated", s => s.LagEvents);
        Gauge("flashwal.replication.lag_time", "s", "How long the replicated watermark has not moved while events wait", s => s.LagTime.TotalSeconds);
        Gauge("flashwal.replication.state", "{state}", "The shipper's state: 0 connecting, 1 shipping, 2 disconnected, 3 finished, 4 failed, 5 stopped", s => (int)s.State);
        Gauge("flashwal.replication.in_flight", "{message}", "Publishes waiting for their acknowledgement", s => s.InFlight);
        Counter("flashwal.replication.messages", "{message}", "Messages the stream acknowledged", s => s.Messages);
        Counter("flashwal.replication.bytes", "By", "Bytes of the messages the stream acknowledged", s => s.Bytes);
        Counter("flashwal.replication.resyncs", "{resync}", "Times the shipper read the stream again after a failure", s => s.Resyncs);
    }

    internal static void Register(LogShipper shipper)
    {
        lock (Gate)
        {
            Shippers.Add(shipper);
        }
    }

    internal static void Unregister(LogShipper shipper)
    {
        lock (Gate)
        {
            Shippers.Remove(shipper);
        }
    }

    private static IEnumerable<Measurement<T>> Measure<T>(Func<ReplicationStatus, T> value)
        where T : struct
    {
        LogShipper[] shippers;
        lock (Gate)
        {
            shippers = [.. Shippers];
        }

        foreach (LogShipper shipper in shippers)
        {
            ReplicationStatus s = shipper.GetStatus();
            yield return new Measurement<T>(value(s), new("directory", s.Directory), new("stream", s.Stream));
        }
    }

    private static void Gauge<T>(string name, string unit, string description, Func<ReplicationStatus, T> value)
        where T : struct =>
        Meter.CreateObservableGauge(name, () => Measure(value), unit, description);

    private static void Counter(string name, string unit, string description, Func<ReplicationStatus, long> value) =>
        Meter.CreateObservableCounter(name, () => Measure(value), unit, description);
}
