using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary>
/// The replicated watermark the recorder exposes next to committed and durable (issue 17): only a
/// shipper raises it, waits end when it passes or throw when replication stopped for good, and
/// retention deletes no segment holding an event above it.
/// </summary>
public sealed class ReplicationMarkTests
{
    private static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    [Fact]
    public async Task The_mark_only_rises_and_a_wait_ends_when_it_passes_or_throws_once_replication_stopped()
    {
        var mark = new ReplicationMark();
        Assert.False(mark.Wait(1, TimeSpan.FromMilliseconds(20)));
        Task<bool> waiting = mark.WaitAsync(10, TimeSpan.FromSeconds(30));
        mark.Advance(5);
        Assert.False(waiting.IsCompleted);
        mark.Advance(12);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        mark.Advance(3);
        Assert.Equal(12, mark.EventId);

        Task<bool> hopeless = mark.WaitAsync(20, TimeSpan.FromSeconds(30));
        mark.Fail(new WalException("the stream holds another log"));
        var stopped = await Assert.ThrowsAsync<WalReplicationStoppedException>(() => hopeless.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("the stream holds another log", stopped.Message, StringComparison.Ordinal);
        Assert.True(mark.Wait(12, TimeSpan.Zero)); // what is replicated stays replicated
    }

    [Fact]
    public void A_recorder_has_one_mark_and_waits_for_replication_only_once_it_has_one()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Tiny);
        Assert.Null(recorder.Replication);
        Assert.Equal(0, recorder.ReplicatedEventId);
        Assert.Throws<InvalidOperationException>(() => recorder.WaitForReplicated(1, TimeSpan.Zero));
        ReplicationMark mark = recorder.AttachReplication();
        Assert.Throws<InvalidOperationException>(() => recorder.AttachReplication());
        long id = recorder.Append([1, 2, 3]);
        recorder.Commit();
        Assert.False(recorder.WaitForReplicated(id, TimeSpan.FromMilliseconds(10)));
        mark.Advance(id);
        Assert.True(recorder.WaitForReplicated(id, TimeSpan.Zero));
        Assert.Equal(id, recorder.ReplicatedEventId);
    }

    [Fact]
    public void Retention_keeps_every_segment_holding_an_event_the_replica_has_not_acknowledged()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Tiny with { Retention = new RetentionPolicy { MaxSegments = 3 } });
        ReplicationMark mark = recorder.AttachReplication();
        Append(recorder, 1500);
        recorder.Flush();
        long closed = Closed(dir.Path).Count;
        Assert.True(closed > 6, $"only {closed} segments were closed");
        Assert.Equal(0, Closed(dir.Path)[0].Index); // nothing replicated: nothing deleted, whatever the limit
        Assert.Equal(0, recorder.GetTelemetry().SegmentsDeleted);

        mark.Advance(recorder.CommittedEventId);
        Append(recorder, 300); // the next closes apply retention again
        recorder.Flush();
        SegmentPreparerTests.Eventually(() => recorder.GetTelemetry().SegmentsDeleted > 0);
        long first = Closed(dir.Path)[0].Index;
        Assert.True(first > 0);
        Assert.All(Closed(dir.Path), s => Assert.True(SegmentFile.ReadSummary(s.Path) is null || s.Index >= first));
    }

    private static List<(long Index, string Path)> Closed(string directory) =>
        [.. WalDirectory.List(directory).Segments.Where(s => SegmentFile.ReadSummary(s.Path) is not null)];

    private static void Append(WalRecorder recorder, int count)
    {
        for (int i = 0; i < count; i++)
        {
            recorder.Append(new byte[40]);
            if (i % 10 == 0)
            {
                recorder.Commit();
            }
        }
    }
}
