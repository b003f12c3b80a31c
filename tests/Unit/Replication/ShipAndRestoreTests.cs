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

    /// <summary>Where two copies of a segment differ: the first and last offsets, how many bytes, and the bytes around the first.</summary>
    private static string Difference(string name, byte[] expected, byte[] found, int at)
    {
        int common = Math.Min(expected.Length, found.Length);
        int differing = 0;
        int lastAt = -1;
        for (int i = at; i < common; i++)
        {
            if (expected[i] != found[i])
            {
                differing++;
                lastAt = i;
            }
        }

        int from = at & ~63;
        string Around(byte[] bytes) => Convert.ToHexString(bytes, Math.Min(from, bytes.Length), Math.Min(64, Math.Max(0, bytes.Length - from)));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{name} differs: {expected.Length} bytes against {found.Length}, first at offset {at} (0x{at:x}), last at {lastAt}, {differing} bytes differ; from {from}: original {Around(expected)}, copy {Around(found)}.");
    }

    /// <summary>The stream's messages, in order, one short line each (runs of blocks of a segment as one line): for a failure message.</summary>
    internal static string DescribeStream(string urls, string? stream = null)
    {
        var text = new System.Text.StringBuilder("\nThe stream holds:");
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            ReplicaStream replica = ReplicaStream.OpenAsync(new ReplicationOptions { Servers = urls, Stream = stream }, logId: null, create: false, cancel.Token).GetAwaiter().GetResult();
            try
            {
                (_, ulong lastSequence, _) = replica.StateAsync(cancel.Token).GetAwaiter().GetResult();
                var messages = replica.ReadAsync(lastSequence, cancel.Token).ToBlockingEnumerable(cancel.Token);
                (ulong First, ulong Last, long Segment, long From, long To, int Count)? run = null;
                void EndRun()
                {
                    if (run is { } r)
                    {
                        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n  {r.First}-{r.Last} Blocks seg {r.Segment} [{r.From}, {r.To}) in {r.Count}");
                    }

                    run = null;
                }

                foreach ((ReplicaMessage m, ulong sequence) in messages)
                {
                    if (m.Kind == ReplicaMessageKind.Blocks && run is { } r && r.Segment == m.SegmentIndex && r.To == m.Offset)
                    {
                        run = (r.First, sequence, r.Segment, r.From, m.Offset + m.Body.Length, r.Count + 1);
                        continue;
                    }

                    EndRun();
                    if (m.Kind == ReplicaMessageKind.Blocks)
                    {
                        run = (sequence, sequence, m.SegmentIndex, m.Offset, m.Offset + m.Body.Length, 1);
                        continue;
                    }

                    text.Append(System.Globalization.CultureInfo.InvariantCulture,
                        $"\n  {sequence} {m.Kind} seg {m.SegmentIndex} offset {m.Offset} body {m.Body.Length} (cursor seg {m.CursorSegment} at {m.CursorOffset}, closes from {m.PendingFrom}, last id {m.LastEventId})");
                }

                EndRun();
            }
            finally
            {
                replica.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            text.Append("\n  (could not be read: ").Append(e.Message).Append(')');
        }

        return text.ToString();
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
    internal static void AssertSameSegments(string original, string copy, Func<string>? describe = null)
    {
        var names = WalDirectory.List(original).Segments.Select(s => Path.GetFileName(s.Path)).ToList();
        Assert.Equal(names, WalDirectory.List(copy).Segments.Select(s => Path.GetFileName(s.Path)).ToList());
        foreach (string name in names)
        {
            byte[] expected = File.ReadAllBytes(Path.Combine(original, name));
            byte[] found = File.ReadAllBytes(Path.Combine(copy, name));
            int at = expected.AsSpan().CommonPrefixLength(found);
            Assert.True(at == expected.Length && found.Length == expected.Length, Difference(name, expected, found, at) + (describe?.Invoke() ?? ""));
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
