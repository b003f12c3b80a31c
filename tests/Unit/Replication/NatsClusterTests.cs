using FlashWal.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FlashWal.Tests.Replication;

/// <summary>
/// The engine replication will ship to (issue 17), as the tests start it: three <c>nats-server</c>
/// nodes on 127.0.0.1 elect a JetStream leader, a stream with three replicas stores what it
/// acknowledged, drops a message published again under the same <c>Nats-Msg-Id</c>, and goes on
/// after its leader is killed. What the shipper will rely on, checked on the real server first.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class NatsClusterTests
{
    [NatsClusterFact]
    public async Task A_three_node_cluster_stores_a_replicated_stream_deduplicates_by_message_id_and_survives_its_leader()
    {
        using NatsCluster cluster = NatsCluster.Start();
        Assert.All(cluster.Nodes, n => Assert.StartsWith("nats://127.0.0.1:", n.ClientUrl, StringComparison.Ordinal));
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls, Name = "flashwal-tests" });
        var js = new NatsJSContext(connection);
        INatsJSStream stream = await js.CreateStreamAsync(new StreamConfig("FLASHWAL_TEST", ["flashwal.test.>"]) { NumReplicas = 3 });
        Assert.Equal(3, stream.Info.Config.NumReplicas);

        PubAckResponse first = await js.PublishAsync("flashwal.test.blocks", new byte[] { 1, 2, 3 }, opts: new NatsJSPubOpts { MsgId = "log:0:0" });
        first.EnsureSuccess();
        PubAckResponse again = await js.PublishAsync("flashwal.test.blocks", new byte[] { 1, 2, 3 }, opts: new NatsJSPubOpts { MsgId = "log:0:0" });
        Assert.False(first.Duplicate);
        Assert.Null(again.Error);
        Assert.True(again.Duplicate); // a re-send after a failure is stored once
        Assert.Throws<NatsJSDuplicateMessageException>(again.EnsureSuccess); // the client calls that a failure; the shipper reads the stream's last message again
        Assert.Equal(first.Seq, again.Seq);

        await stream.RefreshAsync();
        string leader = stream.Info.Cluster?.Leader ?? throw new InvalidOperationException("the stream has no leader");
        NatsNode leaderNode = cluster.Nodes.Single(n => n.Name == leader);
        leaderNode.Kill();

        // A publish goes through once the other two elected a new leader for the stream.
        PubAckResponse? after = null;
        for (int attempt = 0; attempt < 100 && after is null; attempt++)
        {
            try
            {
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                after = await js.PublishAsync("flashwal.test.blocks", new byte[] { 4 }, opts: new NatsJSPubOpts { MsgId = "log:0:1" }, cancellationToken: patience.Token);
                after.EnsureSuccess();
            }
            catch (Exception e) when (e is NatsJSApiException or NatsJSException or NatsException or OperationCanceledException or TimeoutException)
            {
                after = null;
                await Task.Delay(200);
            }
        }

        Assert.NotNull(after);
        Assert.Equal(first.Seq + 1, after.Seq);
        INatsJSStream survived = await js.GetStreamAsync("FLASHWAL_TEST");
        Assert.Equal(2, survived.Info.State.Messages);
        Assert.NotEqual(leader, survived.Info.Cluster?.Leader);
    }

    /// <summary>
    /// Debian's server is 2.9.10: what needs 2.10 is accepted and silently dropped (issue 17). A
    /// stream's metadata is not kept, and a consumer filtered on two subjects delivers every subject.
    /// The shipper therefore uses one subject and no 2.10 setting, and reads its stream's settings
    /// back; should this test fail, the server is newer and those choices can be revisited.
    /// </summary>
    [NatsClusterFact]
    public async Task The_server_accepts_settings_of_newer_servers_and_silently_ignores_them()
    {
        using NatsCluster cluster = NatsCluster.Start();
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls });
        var js = new NatsJSContext(connection);
        INatsJSStream stream = await js.CreateStreamAsync(new StreamConfig("FLASHWAL_V", ["v.>"])
        {
            Metadata = new Dictionary<string, string> { ["flashwal"] = "1" },
        });
        Assert.True(stream.Info.Config.Metadata is null or { Count: 0 }, "the server kept a stream's metadata: it is newer than 2.9");

        foreach (string subject in new[] { "v.a", "v.b", "v.c" })
        {
            (await js.PublishAsync(subject, new byte[] { 1 })).EnsureSuccess();
        }

        INatsJSConsumer consumer = await js.CreateOrUpdateConsumerAsync("FLASHWAL_V", new ConsumerConfig("two-subjects")
        {
            FilterSubjects = ["v.a", "v.b"],
            AckPolicy = ConsumerConfigAckPolicy.None,
        });
        var delivered = new List<string>();
        await foreach (NatsJSMsg<byte[]> message in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(2) }))
        {
            delivered.Add(message.Subject);
        }

        Assert.Equal(["v.a", "v.b", "v.c"], delivered); // v.c too: the two-subject filter was dropped
    }
}
