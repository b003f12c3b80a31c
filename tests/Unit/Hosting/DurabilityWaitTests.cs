using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.Recording;

namespace FlashWal.Tests.Hosting;

public class DurabilityWaitTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(DurabilityPolicy.None)]
    [InlineData(DurabilityPolicy.Interval)]
    [InlineData(DurabilityPolicy.EveryCommit)]
    public void Waiting_for_everything_submitted_returns_once_it_is_durable_under_every_policy(DurabilityPolicy policy)
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo", o => o with { Durability = policy, SyncInterval = TimeSpan.FromSeconds(1) });
        for (int i = 0; i < 5000; i++)
        {
            recorder.Submit(EventPayload.From(i));
        }

        Assert.True(recorder.WaitForDurable(Long));
        Assert.Equal(5000, recorder.DurableEventId);
    }

    [Fact]
    public void Waiting_for_an_id_waits_for_it_to_come_and_become_durable()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo", o => o with { Durability = DurabilityPolicy.None });
        var producer = new Thread(() =>
        {
            Thread.Sleep(50);
            for (int i = 0; i < 100; i++)
            {
                recorder.Submit("x"u8);
            }
        });
        producer.Start();
        Assert.True(recorder.WaitForDurable(100, Long));
        Assert.True(recorder.DurableEventId >= 100);
        producer.Join();
        Assert.False(recorder.WaitForDurable(1000, TimeSpan.FromMilliseconds(50)), "id 1000 never comes: the wait times out");

        recorder.Stop();
        Assert.False(recorder.WaitForDurable(1000, Timeout.InfiniteTimeSpan), "a stopped recorder gets no more events: the wait ends");
        Assert.True(recorder.WaitForDurable(100, Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public void A_wait_is_cancelled_by_its_token()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => recorder.WaitForDurable(1_000_000, Timeout.InfiniteTimeSpan, cancel.Token));
    }

    [Fact]
    public void Fire_and_forget_submissions_track_nothing()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        var submissions = new EventSubmissions(SubmitWait.None, reportIds: false);
        for (int i = 0; i < 1000; i++)
        {
            submissions.Submit(recorder, "x"u8, 0, i);
        }

        Assert.Equal(SubmitWait.None, submissions.Wait);
        Assert.Equal(0, submissions.Pending);
        Assert.False(submissions.TryTakeCompleted(out _));
        Assert.Empty(submissions.FailuresSinceStart());
    }

    [Theory]
    [InlineData(SubmitWait.None)]
    [InlineData(SubmitWait.Committed)]
    [InlineData(SubmitWait.Durable)]
    public void Reported_ids_come_back_in_submission_order_consecutive_and_reached(SubmitWait wait)
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        var submissions = new EventSubmissions(wait, reportIds: true);
        var outcomes = new List<SubmissionOutcome>();
        for (int i = 0; i < 3000; i++)
        {
            submissions.Submit(recorder, EventPayload.From(i), 1, i);
            while (submissions.TryTakeCompleted(out SubmissionOutcome done))
            {
                outcomes.Add(done);
            }
        }

        while (submissions.TryTakeNext(Long, CancellationToken.None, out SubmissionOutcome done))
        {
            outcomes.Add(done);
            long reached = wait switch
            {
                SubmitWait.Durable => recorder.DurableEventId,
                SubmitWait.Committed => recorder.CommittedEventId,
                _ => recorder.LastEventId,
            };
            Assert.True(reached >= done.EventId, $"event {done.EventId} handed back at {reached}");
        }

        Assert.Equal(0, submissions.Pending);
        Assert.Equal(Enumerable.Range(0, 3000).Cast<object?>(), outcomes.Select(o => o.Tag));
        Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), outcomes.Select(o => o.EventId));
        Assert.All(outcomes, o => Assert.Null(o.Error));
    }

    [Fact]
    public void An_event_too_large_is_refused_at_submission_and_the_others_go_on()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo");
        var submissions = new EventSubmissions(SubmitWait.Committed, reportIds: true);
        submissions.Submit(recorder, "a"u8, 0);
        Assert.Throws<WalEventTooLargeException>(() => submissions.Submit(recorder, new byte[8192], 0));
        submissions.Submit(recorder, "b"u8, 0);
        Assert.True(submissions.TryTakeNext(Long, CancellationToken.None, out SubmissionOutcome first));
        Assert.True(submissions.TryTakeNext(Long, CancellationToken.None, out SubmissionOutcome second));
        Assert.Equal((1L, 2L), (first.EventId, second.EventId));
    }

    [Fact]
    public void Waiting_events_of_a_recorder_that_stops_complete_durable_and_later_ones_are_refused()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo", o => o with { SyncInterval = TimeSpan.FromHours(1) });
        var submissions = new EventSubmissions(SubmitWait.Durable, reportIds: false);
        for (int i = 0; i < 100; i++)
        {
            submissions.Submit(recorder, "x"u8, 0);
        }

        recorder.Stop();
        var ids = new List<long>();
        while (submissions.TryTakeNext(Long, CancellationToken.None, out SubmissionOutcome done))
        {
            Assert.Null(done.Error);
            ids.Add(done.EventId);
        }

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), ids);
        Assert.Throws<WalRecorderStoppedException>(() => submissions.Submit(recorder, "late"u8, 0));
    }

    [Fact]
    public void Abandon_hands_back_the_tags_of_what_did_not_arrive_in_time()
    {
        using var recorders = new TestRecorders();
        NamedRecorder recorder = recorders.Start("demo", o => o with { SyncInterval = TimeSpan.FromHours(1) });
        var submissions = new EventSubmissions(SubmitWait.Durable, reportIds: false);
        submissions.Submit(recorder, "x"u8, 0, "first");
        submissions.Submit(recorder, "y"u8, 0, "second");
        Assert.False(submissions.TryTakeNext(TimeSpan.FromMilliseconds(50), CancellationToken.None, out _), "an hour's sync interval: not durable in 50 ms");
        Assert.Equal(2, submissions.Pending);
        Assert.Equal(["first", "second"], submissions.Abandon());
        Assert.Equal(0, submissions.Pending);
    }
}
