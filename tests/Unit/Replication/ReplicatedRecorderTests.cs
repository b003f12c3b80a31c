using FlashWal.Hosting;
using FlashWal.Replication;
using FlashWal.Tests.Hosting;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Replication;

/// <summary>
/// A named recorder (what <c>Start-WalRecorder -ReplicateTo</c> runs) shipping to a real three-node
/// JetStream cluster on 127.0.0.1: its waits for replication cover what they say they cover.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class ReplicatedRecorderTests
{
    [NatsClusterFact]
    public void Waiting_for_everything_written_covers_the_events_still_queued_when_the_wait_starts()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("queued");
        recorder.Replicate(mark => LogShipper.Start(recorder.Path, new ReplicationOptions { Servers = cluster.Urls }, mark, () => recorder.CommittedEventId));
        byte[] payload = new byte[64];
        for (int i = 0; i < 100; i++)
        {
            recorder.Submit(payload);
        }

        Assert.True(recorder.WaitForReplicated(null, TimeSpan.FromSeconds(60)));
        Assert.Equal(100, recorder.ReplicatedEventId);

        // Events a script wrote without waiting may still be queued, with no id yet, when it asks to wait
        // (Write-WalEvent, then Wait-WalRecorder -Replicated): the wait is for them too, not only for
        // what the writer had appended by then. CI once saw the wait end at 3402 of 3500.
        recorder.PauseWriter(true);
        for (int i = 0; i < 500; i++)
        {
            recorder.Submit(payload);
        }

        Assert.Equal(100, recorder.LastEventId);
        Task<bool> waiting = Task.Run(() => recorder.WaitForReplicated(null, TimeSpan.FromSeconds(60)));
        Assert.False(waiting.Wait(TimeSpan.FromMilliseconds(500)), "the wait ended while 500 events it covers were still queued");
        recorder.PauseWriter(false);
        Assert.True(waiting.Wait(TimeSpan.FromSeconds(60)) && waiting.Result, "the wait did not end once the queue was written");
        Assert.Equal(600, recorder.ReplicatedEventId);
    }
}
