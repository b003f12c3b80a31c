using System.Diagnostics;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Replication;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Replication;

/// <summary>
/// A live log shipped while the cluster misbehaves (issue 17), each fault on a real three-node
/// cluster on 127.0.0.1: the stream's leader killed, a follower killed, the leader paused (SIGSTOP)
/// and resumed, the shipper itself dropped mid-run and started again, every server down for a while.
/// Each time the recorder records on, the shipper carries on once it can, and the restored log has
/// every event once, every closed segment byte for byte.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class ShipperFaultTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);

    [NatsClusterTheory]
    [InlineData("leader-killed")]
    [InlineData("follower-killed")]
    [InlineData("leader-paused")]
    [InlineData("shipper-restarted")]
    [InlineData("cluster-down")]
    public void A_live_log_is_shipped_through_the_fault_with_nothing_lost_and_nothing_twice(string fault)
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        var options = new ReplicationOptions { Servers = cluster.Urls, AckTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(1) };
        long last;
        long recordedDuringOutage;
        var status = new List<ReplicationStatus>();
        using (var recorder = WalRecorder.Open(dir.Path, ShipAndRestoreTests.SmallSegments))
        {
            ReplicationMark mark = recorder.AttachReplication();
            LogShipper shipper = LogShipper.Start(dir.Path, options, mark, () => recorder.CommittedEventId);
            try
            {
                Produce(recorder, TimeSpan.FromSeconds(1));
                Assert.True(mark.Wait(recorder.CommittedEventId, TimeSpan.FromSeconds(20)), ShipAndRestoreTests.Describe(shipper, cluster));
                string stream = shipper.Stream;
                long before = recorder.LastEventId;
                switch (fault)
                {
                    case "leader-killed":
                        cluster.StreamLeader(stream).Kill();
                        Produce(recorder, Outage);
                        break;
                    case "follower-killed":
                        NatsNode leader = cluster.StreamLeader(stream);
                        cluster.Nodes.First(n => n != leader).Kill();
                        Produce(recorder, Outage);
                        break;
                    case "leader-paused":
                        NatsNode paused = cluster.StreamLeader(stream);
                        paused.Pause();
                        Produce(recorder, Outage);
                        paused.Resume();
                        break;
                    case "shipper-restarted":
                        Produce(recorder, TimeSpan.FromMilliseconds(300));
                        shipper.Dispose(); // mid-run: what was in flight may or may not be stored
                        Produce(recorder, TimeSpan.FromMilliseconds(700));
                        shipper = LogShipper.Start(dir.Path, options, mark, () => recorder.CommittedEventId);
                        Produce(recorder, Outage);
                        break;
                    case "cluster-down":
                        foreach (NatsNode node in cluster.Nodes)
                        {
                            node.Kill();
                        }

                        Produce(recorder, Outage);
                        status.Add(shipper.GetStatus());
                        foreach (NatsNode node in cluster.Nodes)
                        {
                            node.Start();
                        }

                        break;
                }

                recordedDuringOutage = recorder.LastEventId - before;
                Produce(recorder, TimeSpan.FromSeconds(1));
                last = recorder.Commit();
                Assert.True(mark.Wait(last, TimeSpan.FromSeconds(60)), ShipAndRestoreTests.Describe(shipper, cluster));
            }
            finally
            {
                status.Add(shipper.GetStatus());
                recorder.Dispose();
                Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(60)), ShipAndRestoreTests.Describe(shipper, cluster));
                status.Add(shipper.GetStatus());
                shipper.Dispose();
            }
        }

        Assert.Equal(ShipperState.Finished, status[^1].State);
        Assert.Equal(last, status[^1].ReplicatedEventId);
        Assert.True(recordedDuringOutage > 1000, $"the recorder recorded only {recordedDuringOutage} events during the fault");
        if (fault is "leader-killed" or "leader-paused" or "cluster-down")
        {
            Assert.True(status[^1].Resyncs >= 1, $"the fault did not reach the shipper: {status[^1]}"); // it lost publishes and read the stream again
        }

        if (fault == "cluster-down")
        {
            ReplicationStatus during = status[0];
            Assert.Equal(ShipperState.Disconnected, during.State);
            Assert.True(during.LagEvents > 1000 && during.LagTime > TimeSpan.FromSeconds(1), during.ToString());
        }

        RestoreReport report = LogRestore.Run(options, Path.Combine(restored.Path, "log")); // the only stream on the servers
        Assert.True(report.Verification.IsIntact, string.Join("\n", report.Verification.Findings));
        Assert.Equal(last, report.LastEventId);
        ShipAndRestoreTests.AssertSameSegments(dir.Path, report.Directory);
        ShipAndRestoreTests.AssertSameEvents(dir.Path, report.Directory);
    }

    /// <summary>
    /// A shipper killed with publishes in flight is, for the stream, a second shipper: the server may
    /// store its last publishes after the new one has read where the stream stands. Shippers racing
    /// on one stream while a recorder writes, each resuming from what the others stored, must still
    /// leave every part once and in order: no close skipped (they place the closes among the blocks
    /// at different moments), nothing twice; the restore checks the order message by message. (The
    /// exact interleaving that once skipped a close needs the same blocks in both shippers' messages
    /// and a backlog; this race did not hit it in a few runs with the old ids: the test after it
    /// makes it happen on purpose.)
    /// </summary>
    [NatsClusterFact]
    public void Shippers_racing_on_one_stream_leave_every_segment_whole_and_closed()
    {
        using NatsCluster cluster = NatsCluster.Start();
        var options = new ReplicationOptions { Servers = cluster.Urls };
        for (int round = 0; round < 2; round++)
        {
            using var dir = new TempDirectory();
            using var restored = new TempDirectory();
            var shippers = new List<LogShipper>();
            string stream;
            long last;
            try
            {
                using (var recorder = WalRecorder.Open(dir.Path, ShipAndRestoreTests.SmallSegments))
                {
                    recorder.Commit();
                    // One ships each close as soon as it can, the others later: they place the closes among the blocks differently.
                    shippers.Add(LogShipper.Start(dir.Path, options with { CloseCheckInterval = TimeSpan.Zero, MaxInFlight = 4 }));
                    shippers.Add(LogShipper.Start(dir.Path, options with { CloseCheckInterval = TimeSpan.FromMilliseconds(30), MaxInFlight = 4 }));
                    shippers.Add(LogShipper.Start(dir.Path, options with { CloseCheckInterval = TimeSpan.FromMilliseconds(5), MaxInFlight = 16 }));
                    stream = shippers[0].Stream;
                    for (int burst = 0; burst < 40; burst++)
                    {
                        // Bursts of several segments: every shipper has many parts to publish at once from where the stream stands.
                        AppendUncommitted(recorder, 1500);
                        recorder.Commit();
                        Thread.Sleep(50);
                    }

                    last = recorder.Commit();
                }

                foreach (LogShipper shipper in shippers)
                {
                    Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(120)), ShipAndRestoreTests.Describe(shipper, cluster));
                    Assert.True(shipper.GetStatus().State == ShipperState.Finished, ShipAndRestoreTests.Describe(shipper, cluster)); // the status says why not
                }
            }
            finally
            {
                shippers.ForEach(s => s.Dispose());
            }

            RestoreReport report = LogRestore.Run(new ReplicationOptions { Servers = cluster.Urls, Stream = stream }, Path.Combine(restored.Path, "log"));
            Assert.Equal(last, report.LastEventId);
            Assert.Equal(report.Segments, report.ClosedSegments);
            ShipAndRestoreTests.AssertSameSegments(dir.Path, report.Directory, () => ShipAndRestoreTests.DescribeStream(cluster.Urls, report.Stream));
        }
    }

    /// <summary>
    /// What CI once hit, made to happen: a shipper's last publishes (opens and blocks, every close
    /// still to come) are held by the leader, not yet stored, when its successor reads the stream and
    /// ships the closes due first, then the same blocks. The server then stores the first shipper's
    /// messages, and the successor's from the first whose predecessor is the stream's last. Were ids
    /// only the part, the successor's copy of the first shipper's last blocks would pass for it, its
    /// next message would be stored after them, and the closes before would never be: the restore
    /// would find them missing. With ids that name the cursor, the successor's messages are refused
    /// until it reads the stream again, and every segment comes back whole and closed.
    /// </summary>
    [NatsClusterFact]
    public void A_shippers_late_publishes_stored_after_its_successor_read_the_stream_skip_no_close()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        // One block to a segment: both shippers put a segment's blocks in one message, however their windows cut.
        var oneBlock = new WalRecorderOptions { SegmentSize = SegmentFormat.DataOffset + SegmentFormat.MinBlockSize, BlockSize = SegmentFormat.MinBlockSize };
        var options = new ReplicationOptions { Servers = cluster.Urls, AckTimeout = TimeSpan.FromSeconds(60) };
        var late = options with { CloseCheckInterval = TimeSpan.FromHours(1) }; // closes only once the log has ended
        string stream;
        long last;
        using (var recorder = WalRecorder.Open(dir.Path, oneBlock))
        {
            long first = AppendUncommitted(recorder, 300);
            recorder.Commit();
            using (LogShipper before = LogShipper.Start(dir.Path, late))
            {
                Assert.True(before.Mark.Wait(first, TimeSpan.FromSeconds(30)), ShipAndRestoreTests.Describe(before, cluster));
                stream = before.Stream; // it ends with blocks: every close still to come
            }

            last = AppendUncommitted(recorder, 1500);
        }

        Assert.True(WalDirectory.List(dir.Path).Segments.Count > 40);
        NatsNode leader = cluster.StreamLeader(stream);
        List<NatsNode> followers = [.. cluster.Nodes.Where(n => n != leader)];
        var toLeader = options with { Servers = leader.ClientUrl }; // a paused server accepts a connection and never answers: the client must not pick one
        var lateToLeader = late with { Servers = leader.ClientUrl };
        LogShipper? killed = null;
        LogShipper? successor = null;
        try
        {
            followers.ForEach(n => n.Pause()); // the leader takes publishes but stores none: no quorum
            killed = LogShipper.Start(dir.Path, lateToLeader with { MaxInFlight = 20 });
            Assert.True(SpinWait.SpinUntil(() => killed.GetStatus().InFlight >= 20, TimeSpan.FromSeconds(10)), killed.GetStatus().ToString());
            Thread.Sleep(300); // the leader has them
            successor = LogShipper.Start(dir.Path, toLeader with { CloseCheckInterval = TimeSpan.Zero }); // reads the stream as it stands: the 20 are not in it
            Assert.True(SpinWait.SpinUntil(() => successor.GetStatus().InFlight >= 40, TimeSpan.FromSeconds(10)), successor.GetStatus().ToString());
            Thread.Sleep(300);
        }
        finally
        {
            followers.ForEach(n => n.Resume());
        }

        try
        {
            Assert.True(successor.WaitForEnd(TimeSpan.FromSeconds(120)), ShipAndRestoreTests.Describe(successor, cluster));
            Assert.True(killed.WaitForEnd(TimeSpan.FromSeconds(120)), ShipAndRestoreTests.Describe(killed, cluster));
            Assert.Equal(ShipperState.Finished, successor.GetStatus().State);
            Assert.True(successor.GetStatus().Resyncs >= 1, $"the successor's first publishes were not refused: {successor.GetStatus()}");
        }
        finally
        {
            killed.Dispose();
            successor.Dispose();
        }

        RestoreReport report = LogRestore.Run(options with { Stream = stream }, Path.Combine(restored.Path, "log"));
        Assert.Equal(last, report.LastEventId);
        Assert.Equal(report.Segments, report.ClosedSegments);
        ShipAndRestoreTests.AssertSameSegments(dir.Path, report.Directory, () => ShipAndRestoreTests.DescribeStream(cluster.Urls, stream));
    }

    /// <summary>Appends <paramref name="events"/> events of varied sizes without a commit (blocks are sealed as they fill); returns the last id.</summary>
    private static long AppendUncommitted(WalRecorder recorder, int events)
    {
        long id = 0;
        for (int i = 0; i < events; i++)
        {
            id = recorder.LastEventId + 1;
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)), type: (ushort)(id % 5));
        }

        return id;
    }

    /// <summary>Appends events of varied sizes for <paramref name="time"/>, about 2,000 a second, with a commit every 20.</summary>
    private static void Produce(WalRecorder recorder, TimeSpan time)
    {
        var clock = Stopwatch.StartNew();
        int n = 0;
        while (clock.Elapsed < time)
        {
            long id = recorder.LastEventId + 1;
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)), type: (ushort)(id % 5));
            if (++n % 20 == 0)
            {
                recorder.Commit();
                Thread.Sleep(10);
            }
        }
    }
}
