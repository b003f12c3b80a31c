using FlashWal.Replication;
using FlashWal.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FlashWal.Tests.Replication;

/// <summary>Copies of a replica stream with parts changed or left out: the streams a reader must judge, made from a real one.</summary>
internal static class StreamCopies
{
    /// <summary>
    /// Records 3000 events into <paramref name="directory"/> (several segments) and ships them whole
    /// to <paramref name="cluster"/>, in a stream named for the log: the stream the copies are made from. Returns its name.
    /// </summary>
    public static string Source(NatsCluster cluster, string directory)
    {
        ShipAndRestoreTests.Record(directory, events: 3000, commitEvery: 17);
        using LogShipper shipper = LogShipper.Start(directory, new ReplicationOptions { Servers = cluster.Urls });
        Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(60)), ShipAndRestoreTests.Describe(shipper, cluster));
        return shipper.Stream;
    }

    /// <summary>
    /// Copies the stream <paramref name="source"/> into a new stream <paramref name="copy"/> (subject
    /// of the same name in lower case, 3 replicas), message by message in order, as
    /// <paramref name="keep"/> decides: false leaves a message out; a change it makes to the message's
    /// body is kept, with the header's CRC made right again. Returns the copy's name.
    /// </summary>
    public static Task<string> CopyAsync(NatsCluster cluster, string source, string copy, Func<ulong, ReplicaMessage, bool> keep) =>
        CopyAsync(cluster, source, copy, (sequence, m) => keep(sequence, m) ? m : null);

    /// <summary>
    /// As the other overload, with the message's header fields as <paramref name="change"/> returns them
    /// (<c>m with { … }</c>; its body stays the bytes copied, changed in place if need be); null leaves it out.
    /// </summary>
    public static async Task<string> CopyAsync(NatsCluster cluster, string source, string copy, Func<ulong, ReplicaMessage, ReplicaMessage?> change)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls });
        var js = new NatsJSContext(connection);
        string subject = copy.ToLowerInvariant();
        await js.CreateStreamAsync(new StreamConfig(copy, [subject]) { NumReplicas = 3 });
        INatsJSStream original = await js.GetStreamAsync(source);
        for (ulong seq = 1; seq <= original.Info.State.LastSeq; seq++)
        {
            StreamMsgGetResponse got = await original.GetAsync(new StreamMsgGetRequest { Seq = seq });
            byte[] bytes = got.Message.Data.ToArray();
            if (change(seq, ReplicaMessage.TryRead(bytes, out _)!.Value) is not { } m)
            {
                continue;
            }

            ReplicaMessage.WriteHeader(bytes, m.Kind, m.LogId, m.SegmentIndex, m.Offset, m.FirstEventId, m.LastEventId, m.Chain,
                m.CursorSegment, m.CursorOffset, m.PendingFrom, m.Body.Length);
            (await js.PublishAsync(subject, bytes)).EnsureSuccess();
        }

        return copy;
    }
}
