using System.Diagnostics;
using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Replication;
using FlashWal.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FlashWal.Tests.Replication;

/// <summary>
/// Bad targets get one clear error that names what is wrong, and nothing is shipped (issue 17): a
/// URL that is not one, servers that do not answer, a stream with other settings, a stream of
/// another log, a restore into a directory that is not empty.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class ReplicationRefusalTests
{
    [Theory]
    [InlineData("", "No NATS server")]
    [InlineData("http://127.0.0.1:4222", "'http://127.0.0.1:4222' is not a NATS server URL")]
    [InlineData("127.0.0.1:4222", "is not a NATS server URL")]
    [InlineData("nats://127.0.0.1:4222/path", "is not a NATS server URL")]
    public void A_server_list_that_is_not_one_is_refused_naming_the_bad_entry(string servers, string expected)
    {
        var e = Assert.Throws<WalStreamException>(() => new ReplicationOptions { Servers = servers }.Validate());
        Assert.Equal(WalStreamException.UrlInvalidErrorId, e.ErrorId);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Servers_that_do_not_answer_are_unreachable_and_named()
    {
        using var dir = new TempDirectory();
        ShipAndRestoreTests.Record(dir.Path, events: 10, commitEvery: 5);
        string nobody = "nats://127.0.0.1:" + NatsCluster.FreePort();
        var e = Assert.Throws<WalStreamException>(() => LogShipper.Start(dir.Path, new ReplicationOptions { Servers = nobody, ConnectTimeout = TimeSpan.FromMilliseconds(300) }));
        Assert.Equal(WalStreamException.UnreachableErrorId, e.ErrorId);
        Assert.Contains(nobody, e.Message, StringComparison.Ordinal);
    }

    [NatsClusterFact]
    public async Task A_stream_with_other_settings_or_of_another_log_is_refused_and_a_restore_needs_an_empty_directory()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        ShipAndRestoreTests.Record(first.Path, events: 200, commitEvery: 10);
        ShipAndRestoreTests.Record(second.Path, events: 200, commitEvery: 10);
        var options = new ReplicationOptions { Servers = cluster.Urls };

        // A stream that would delete what it acknowledged (one replica, a message limit) is not a replica.
        await using (var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls }))
        {
            await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig("LIMITED", ["limited"]) { NumReplicas = 1, MaxMsgs = 100 });
        }

        var settings = Assert.Throws<WalStreamException>(() => LogShipper.Start(first.Path, options with { Stream = "LIMITED", Subject = "limited" }));
        Assert.Equal(WalStreamException.SettingsDifferErrorId, settings.ErrorId);
        Assert.Contains("1 replicas instead of 3", settings.Message, StringComparison.Ordinal);
        Assert.Contains("limits that delete old messages", settings.Message, StringComparison.Ordinal);

        // The first log ships into a stream named for the second: the second is then refused there.
        using (LogShipper shipper = LogShipper.Start(first.Path, options with { Stream = "SHARED", Subject = "shared" }))
        {
            Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(30)));
        }

        var foreign = Assert.Throws<WalStreamException>(() => LogShipper.Start(second.Path, options with { Stream = "SHARED", Subject = "shared" }));
        Assert.Equal(WalStreamException.ForeignStreamErrorId, foreign.ErrorId);
        Assert.Contains("holds log", foreign.Message, StringComparison.Ordinal);
        Assert.Contains(second.Path, foreign.Message, StringComparison.Ordinal);

        var notEmpty = Assert.Throws<WalStreamException>(() => LogRestore.Run(options with { Stream = "SHARED" }, second.Path));
        Assert.Equal(WalStreamException.TargetNotEmptyErrorId, notEmpty.ErrorId);
        var missing = Assert.Throws<WalStreamException>(() => LogRestore.Run(options with { Stream = "NOSUCH" }, Path.Combine(second.Path, "restored")));
        Assert.Equal(WalStreamException.NotFoundErrorId, missing.ErrorId);
        Assert.Contains("'NOSUCH'", missing.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// More replicas than the cluster has servers: the cluster says "no suitable peers for placement",
    /// as a cluster that has just elected its leader does for a moment. The shipper tries again for a
    /// while (so a recorder started as the cluster comes back is not refused), then gives one clear
    /// error that names the replicas and the subject.
    /// </summary>
    [NatsClusterFact]
    public void More_replicas_than_servers_are_refused_clearly_once_the_cluster_had_time_to_place_them()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        ShipAndRestoreTests.Record(dir.Path, events: 50, commitEvery: 10);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<WalStreamException>(() => LogShipper.Start(dir.Path, new ReplicationOptions { Servers = cluster.Urls, Replicas = 5, ConnectTimeout = TimeSpan.FromMilliseconds(500) }));
        Assert.Equal(WalStreamException.SettingsDifferErrorId, e.ErrorId);
        Assert.Contains("with 5 replicas", e.Message, StringComparison.Ordinal);
        Assert.Contains("no suitable peers for placement", e.Message, StringComparison.Ordinal);
        Assert.Contains("A cluster needs at least as many JetStream servers as replicas", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(9), $"refused after {clock.Elapsed}, without waiting for the cluster to place the stream");
    }

    /// <summary>
    /// Several servers are given for failover. A server that takes the connection and never answers
    /// (a paused or hung process) first in the list must not keep the shipper, the restore or the
    /// remote reader from the others: the client gives up on its first server, so each attempt starts
    /// from the next one in turn.
    /// </summary>
    [NatsClusterFact]
    public void A_paused_server_first_in_the_list_does_not_keep_anyone_from_the_others()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        var options = new ReplicationOptions { Servers = cluster.Urls, ConnectTimeout = TimeSpan.FromSeconds(1) };
        ShipAndRestoreTests.Record(dir.Path, events: 400, commitEvery: 10);
        string stream;
        using (LogShipper first = LogShipper.Start(dir.Path, options))
        {
            Assert.True(first.WaitForEnd(TimeSpan.FromSeconds(30)));
            stream = first.Stream;
        }

        long last = ShipAndRestoreTests.Record(dir.Path, events: 400, commitEvery: 10); // a later recorder continues the log
        NatsNode leader = cluster.StreamLeader(stream);
        NatsNode paused = cluster.Nodes.First(n => n != leader);
        var pausedFirst = options with { Servers = string.Join(',', cluster.Nodes.OrderBy(n => n == paused ? 0 : 1).Select(n => n.ClientUrl)), Stream = stream };
        paused.Pause();
        try
        {
            using (LogShipper second = LogShipper.Start(dir.Path, pausedFirst))
            {
                Assert.True(second.WaitForEnd(TimeSpan.FromSeconds(60)), ShipAndRestoreTests.Describe(second, cluster));
                Assert.Equal(ShipperState.Finished, second.GetStatus().State);
                Assert.Equal(last, second.Mark.EventId);
            }

            RestoreReport report = LogRestore.Run(pausedFirst, Path.Combine(restored.Path, "log"));
            Assert.Equal(last, report.LastEventId);
            using StreamEventReader reader = StreamEventReader.Open(pausedFirst);
            Assert.True(reader.TryReadNext(out WalEvent firstEvent));
            Assert.Equal(1, firstEvent.EventId);
        }
        finally
        {
            paused.Resume();
        }
    }

    [NatsClusterFact]
    public void A_segment_deleted_before_it_was_shipped_stops_the_shipper_rather_than_leave_a_hole()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        var options = new ReplicationOptions { Servers = cluster.Urls };
        long shipped = ShipAndRestoreTests.Record(dir.Path, events: 400, commitEvery: 10);
        using (LogShipper first = LogShipper.Start(dir.Path, options))
        {
            Assert.True(first.WaitForEnd(TimeSpan.FromSeconds(30)));
        }

        long lastShippedSegment = WalDirectory.List(dir.Path).Segments[^1].Index;
        ShipAndRestoreTests.Record(dir.Path, events: 1200, commitEvery: 10); // a later recorder, whose retention...
        foreach ((long index, string path) in WalDirectory.List(dir.Path).Segments.Where(s => s.Index <= lastShippedSegment + 2))
        {
            File.Delete(path); // ...deleted segments before any shipper saw them
        }

        using LogShipper second = LogShipper.Start(dir.Path, options);
        Assert.True(second.WaitForEnd(TimeSpan.FromSeconds(30)));
        Assert.Equal(ShipperState.Failed, second.GetStatus().State);
        var diverged = Assert.IsType<WalStreamException>(second.Mark.Failure);
        Assert.Equal(WalStreamException.DivergedErrorId, diverged.ErrorId);
        Assert.Contains($"Segment {lastShippedSegment + 1} ", diverged.Message, StringComparison.Ordinal);
        Assert.Equal(shipped, second.Mark.EventId); // what the stream holds, and not one event more
        Assert.Throws<WalReplicationStoppedException>(() => second.Mark.Wait(shipped + 1, TimeSpan.FromSeconds(1)));
    }

    /// <summary>
    /// The stream as the server stored it once in CI: a killed shipper's blocks landed after its
    /// successor had read the stream, and the successor's next blocks followed them, so the close of
    /// a segment was never stored. A restore and a remote read must say so, naming the message, and
    /// not leave the segment open as if the recorder had.
    /// </summary>
    [NatsClusterFact]
    public async Task A_stream_missing_a_close_is_refused_by_the_restore_and_the_remote_reader()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        var options = new ReplicationOptions { Servers = cluster.Urls };
        string source = StreamCopies.Source(cluster, dir.Path);

        ulong skipped = 0;
        string holed = await StreamCopies.CopyAsync(cluster, source, "HOLED", (sequence, m) =>
        {
            if (m.Kind == ReplicaMessageKind.Close && m.SegmentIndex == 1)
            {
                skipped = sequence;
                return false;
            }

            return true;
        });
        Assert.True(skipped > 0);

        var restore = Assert.Throws<WalReplicaException>(() => LogRestore.Run(options with { Stream = holed }, Path.Combine(restored.Path, "log")));
        Assert.Equal(WalReplicaException.OutOfOrderErrorId, restore.ErrorId);
        Assert.Contains($"Message {skipped} of the stream 'HOLED'", restore.Message, StringComparison.Ordinal); // the message that follows the hole (the copy renumbers from there)
        Assert.Contains("the close of segment 1 is missing", restore.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(restored.Path, "log", "0000000000000001.wal")), "the segment whose close is missing was left as if the recorder had left it open");

        using StreamEventReader reader = StreamEventReader.Open(options with { Stream = holed });
        var read = Assert.Throws<WalReplicaException>(() =>
        {
            while (reader.TryReadNext(out _))
            {
            }
        });
        Assert.Equal(WalReplicaException.OutOfOrderErrorId, read.ErrorId);
        Assert.Contains("the close of segment 1 is missing", read.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The restore and the remote reader place parts with the same code (<see cref="ReplicaOrder"/>,
    /// <see cref="SegmentPlacement"/>), so a stream they must refuse is refused by both with the same
    /// error: a message of another log, a summary that is not one, a segment's header in another
    /// segment's place.
    /// </summary>
    [NatsClusterFact]
    public async Task Parts_that_do_not_fit_are_refused_alike_by_the_restore_and_the_remote_reader()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        using var restored = new TempDirectory();
        var options = new ReplicationOptions { Servers = cluster.Urls };
        string source = StreamCopies.Source(cluster, dir.Path);

        int blocks = 0;
        string foreign = await StreamCopies.CopyAsync(cluster, source, "FOREIGNPART", (_, m) =>
            m.Kind == ReplicaMessageKind.Blocks && ++blocks == 3 ? m with { LogId = LogId.NewId() } : m);
        string badSummary = await StreamCopies.CopyAsync(cluster, source, "BADSUMMARY", (_, m) =>
        {
            if (m.Kind == ReplicaMessageKind.Close && m.SegmentIndex == 0)
            {
                MemoryMarshal.AsMemory(m.Body).Span[20] ^= 0x01; // the summary's CRC no longer holds
            }

            return m;
        });
        byte[]? firstHeader = null;
        string otherHeader = await StreamCopies.CopyAsync(cluster, source, "OTHERHEADER", (_, m) =>
        {
            if (m.Kind == ReplicaMessageKind.Open && firstHeader is null)
            {
                firstHeader = m.Body.ToArray();
            }
            else if (m.Kind == ReplicaMessageKind.Open && m.SegmentIndex == 1)
            {
                firstHeader.CopyTo(MemoryMarshal.AsMemory(m.Body).Span); // segment 0's header where segment 1's goes
            }

            return m;
        });

        foreach ((string stream, Type type, string errorId, string says) in new[]
        {
            (foreign, typeof(WalStreamException), WalStreamException.ForeignStreamErrorId, "the stream started with log"),
            (badSummary, typeof(WalReplicaException), WalReplicaException.BadPartErrorId, "is not a valid summary"),
            (otherHeader, typeof(WalReplicaException), WalReplicaException.OutOfOrderErrorId, "is the header of segment 0"),
        })
        {
            var restore = Assert.Throws(type, () => LogRestore.Run(options with { Stream = stream }, Path.Combine(restored.Path, stream)));
            Assert.Equal(errorId, ((WalException)restore).ErrorId);
            Assert.Contains(says, restore.Message, StringComparison.Ordinal);

            using StreamEventReader reader = StreamEventReader.Open(options with { Stream = stream });
            var read = Assert.Throws(type, () =>
            {
                while (reader.TryReadNext(out _))
                {
                }
            });
            Assert.Equal(errorId, ((WalException)read).ErrorId);
            Assert.Contains(says, read.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_segment_assembly_refuses_parts_out_of_place()
    {
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        var log = Wal.WriteLog(dir.Path, segments: 1, perSegment: 50, Wal.Small, sealEvery: 10);
        byte[] file = File.ReadAllBytes(Wal.SegmentPath(dir.Path, 0));
        var summary = SegmentSummary.Read(file.AsSpan(SegmentFormat.SummaryOffset));
        using var segment = SegmentAssembly.Begin(copy.Path, 0, file.AsSpan(0, SegmentFormat.HeaderSize), log);
        Assert.Equal(WalReplicaException.ForeignLogErrorId, Assert.Throws<WalReplicaException>(() => SegmentAssembly.Begin(copy.Path, 0, file.AsSpan(0, 128), LogId.NewId())).ErrorId);
        var otherSegment = Assert.Throws<WalReplicaException>(() => SegmentAssembly.Begin(copy.Path, 1, file.AsSpan(0, 128), log));
        Assert.Contains("The header copied for segment 1 of", otherSegment.Message, StringComparison.Ordinal);
        Assert.Contains("is the header of segment 0", otherSegment.Message, StringComparison.Ordinal);
        var gap = Assert.Throws<WalReplicaException>(() => segment.AddBlocks(SegmentFormat.DataOffset + 64, file.AsSpan(4096 + 64, 128)));
        Assert.Equal(WalReplicaException.OutOfOrderErrorId, gap.ErrorId);
        var early = Assert.Throws<WalReplicaException>(() => segment.Close(file.AsSpan(SegmentFormat.SummaryOffset, 64), file.Length));
        Assert.Contains("blocks are missing", early.Message, StringComparison.Ordinal);
        segment.AddBlocks(SegmentFormat.DataOffset, file.AsSpan(SegmentFormat.DataOffset, (int)(summary.DataEnd - SegmentFormat.DataOffset)));
        segment.Close(file.AsSpan(SegmentFormat.SummaryOffset, 64), file.Length);
        segment.Complete();
        Assert.Equal(file, File.ReadAllBytes(Wal.SegmentPath(copy.Path, 0)));
    }
}
