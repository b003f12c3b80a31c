using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Replication;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Replication;

/// <summary>
/// A log shipped to a real three-node JetStream cluster on 127.0.0.1 and rebuilt from it (issue 17):
/// the replica holds every byte of every closed segment, the watermark reaches the last event, and
/// a restore elsewhere verifies intact with the same events.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class ShipAndRestoreTests
{
    internal static readonly WalRecorderOptions SmallSegments = new() { SegmentSize = 64 * 1024, BlockSize = 4096 };

    [NatsClusterFact]
    public void A_closed_log_is_shipped_whole_and_restores_byte_for_byte_elsewhere()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        long last = Record(dir.Path, events: 3000, commitEvery: 17);

        using (LogShipper shipper = LogShipper.Start(dir.Path, new ReplicationOptions { Servers = cluster.Urls }))
        {
            Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(60)), Describe(shipper, cluster));
            Assert.Equal(ShipperState.Finished, shipper.GetStatus().State);
            Assert.Equal(last, shipper.Mark.EventId);
            Assert.Equal(ReplicationOptions.StreamFor(shipper.LogId), shipper.Stream);

            // The meter publishes the same: the watermark, no lag, the state, tagged with the directory.
            Dictionary<string, double> measured = Measure(dir.Path);
            Assert.Equal(last, measured["flashwal.replication.replicated_id"]);
            Assert.Equal(0, measured["flashwal.replication.lag"]);
            Assert.Equal((int)ShipperState.Finished, measured["flashwal.replication.state"]);
            Assert.True(measured["flashwal.replication.messages"] > 0);
        }

        Assert.DoesNotContain("flashwal.replication.state", Measure(dir.Path).Keys); // a disposed shipper is no longer measured

        RestoreReport report = LogRestore.Run(new ReplicationOptions { Servers = cluster.Urls }, Path.Combine(restored.Path, "log"));
        Assert.True(report.Verification.IsIntact, string.Join("\n", report.Verification.Findings));
        Assert.Equal(last, report.LastEventId);
        Assert.Equal(report.Segments, report.ClosedSegments);
        AssertSameSegments(dir.Path, report.Directory);
        AssertSameEvents(dir.Path, report.Directory);
    }

    [NatsClusterFact]
    public void Appending_to_a_replicated_recorder_allocates_nothing_on_the_writer_and_the_shipper_follows()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64L << 20 }); // as Append_allocates_nothing: no rotation in a window
        using LogShipper shipper = LogShipper.Start(dir.Path, new ReplicationOptions { Servers = cluster.Urls }, recorder.AttachReplication(), () => recorder.CommittedEventId);
        byte[] payload = new byte[64];
        void Window()
        {
            for (int i = 0; i < 70_000; i++)
            {
                recorder.Append(payload, 1);
                if (i % 1000 == 999)
                {
                    recorder.Commit();
                }
            }
        }

        Window(); // warm-up: the first blocks shipped
        Assert.True(shipper.Mark.Wait(recorder.CommittedEventId, TimeSpan.FromSeconds(30)), Describe(shipper, cluster));
        Assert.Equal(0, AllocationCounter.Least(Window)); // the shipper reads on a thread of its own: nothing of it lands on the writer
        Assert.True(recorder.WaitForReplicated(recorder.CommittedEventId, TimeSpan.FromSeconds(30)), Describe(shipper, cluster));
    }

    /// <summary>What <see cref="ReplicationMeter"/> reports now for the shipper of <paramref name="directory"/>.</summary>
    private static Dictionary<string, double> Measure(string directory)
    {
        var measured = new Dictionary<string, double>(StringComparer.Ordinal);
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ReplicationMeter.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Take(System.Diagnostics.Metrics.Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "directory" && (string?)tag.Value == Path.GetFullPath(directory))
                {
                    measured[instrument.Name] = value;
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Take(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Take(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Take(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return measured;
    }

    /// <summary>Records <paramref name="events"/> events of varied sizes and closes the log; returns the last id.</summary>
    internal static long Record(string directory, int events, int commitEvery, WalRecorderOptions? options = null)
    {
        using var recorder = WalRecorder.Open(directory, options ?? SmallSegments);
        long last = 0;
        for (int i = 0; i < events; i++)
        {
            last = recorder.Append(Wal.Payload(recorder.LastEventId + 1, Wal.PayloadLength(recorder.LastEventId + 1)), type: (ushort)(i % 7));
            if (i % commitEvery == 0)
            {
                recorder.Commit();
            }
        }

        return last;
    }

    /// <summary>Every segment of <paramref name="original"/> is in <paramref name="copy"/> with the same bytes, and nothing else is.</summary>
    internal static void AssertSameSegments(string original, string copy)
    {
        var names = WalDirectory.List(original).Segments.Select(s => Path.GetFileName(s.Path)).ToList();
        Assert.Equal(names, WalDirectory.List(copy).Segments.Select(s => Path.GetFileName(s.Path)).ToList());
        foreach (string name in names)
        {
            byte[] expected = File.ReadAllBytes(Path.Combine(original, name));
            byte[] found = File.ReadAllBytes(Path.Combine(copy, name));
            int at = expected.AsSpan().CommonPrefixLength(found);
            Assert.True(at == expected.Length && found.Length == expected.Length,
                $"{name} differs: {expected.Length} bytes against {found.Length}, first at offset {at} (0x{at:x})");
        }
    }

    /// <summary>Both logs replay (strictly) the same events: ids, timestamps, types and payloads.</summary>
    internal static void AssertSameEvents(string original, string copy)
    {
        static List<(long, long, ushort, string)> Events(string directory) =>
            [.. Wal.ReadLog(directory).Select(e => (e.Id, e.Timestamp, e.Type, Convert.ToHexString(e.Payload)))];
        Assert.Equal(Events(original), Events(copy));
    }

    internal static string Describe(LogShipper shipper, NatsCluster cluster) => $"{shipper.GetStatus()}\n{string.Join("\n", cluster.Nodes.Select(n => n.Describe()))}";
}
