using FlashWal.Errors;
using FlashWal.Recording;

namespace FlashWal.Hosting;

/// <summary>What became of one event that an <see cref="EventSubmissions"/> tracked.</summary>
/// <param name="Recorder">The recorder it was submitted to.</param>
/// <param name="EventId">Its id, when it got where it was waited for (0 otherwise).</param>
/// <param name="Error">Why it did not, or null.</param>
/// <param name="Tag">What the submitter attached (the input it came from).</param>
public readonly record struct SubmissionOutcome(NamedRecorder Recorder, long EventId, WalException? Error, object? Tag);

/// <summary>
/// The events one writer (one <c>Write-WalEvent</c> run) submits, and what it waits for: nothing
/// (fire and forget, the default: no wait and no flush per event), their ids, their commit or their
/// durability. Tracked events are handed back in submission order as they get there, so a writer
/// reports ids and errors as it goes and waits only at its end.
/// </summary>
/// <remarks>
/// No event waits for the next: every event is queued at once and the recorder's writer thread
/// commits and flushes in groups, so waiting for the durability of N events costs about one flush
/// interval, not N. One thread uses an instance.
/// </remarks>
public sealed class EventSubmissions
{
    private readonly Queue<Tracked> _pending = new();
    private readonly Dictionary<NamedRecorder, long> _failedAtStart = [];

    /// <summary>Submissions that wait for <paramref name="wait"/>; with <paramref name="reportIds"/> at least for the append, so that each id is known.</summary>
    public EventSubmissions(SubmitWait wait, bool reportIds)
    {
        if (!Enum.IsDefined(wait))
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "Unknown wait level.");
        }

        Wait = wait == SubmitWait.None && reportIds ? SubmitWait.Appended : wait;
    }

    /// <summary>What each event is tracked until (<see cref="SubmitWait.None"/>: nothing is tracked).</summary>
    public SubmitWait Wait { get; }

    /// <summary>Events tracked and not yet handed back.</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Submits one event to <paramref name="recorder"/>. Errors about the event itself (too large, the
    /// recorder stopped) are thrown here, before anything is queued.
    /// </summary>
    /// <exception cref="WalEventTooLargeException">The payload does not fit in a block.</exception>
    /// <exception cref="WalRecorderStoppedException">The recorder was stopped.</exception>
    public void Submit(NamedRecorder recorder, ReadOnlySpan<byte> payload, ushort type, object? tag = null)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        _failedAtStart.TryAdd(recorder, recorder.FailedEvents);
        if (Wait == SubmitWait.None)
        {
            recorder.Submit(payload, type);
            return;
        }

        _pending.Enqueue(new Tracked(recorder, recorder.SubmitAsync(payload, type, Wait), tag));
    }

    /// <summary>Hands back the oldest tracked event if it is done; never waits.</summary>
    public bool TryTakeCompleted(out SubmissionOutcome outcome)
    {
        if (_pending.Count == 0 || !_pending.Peek().IsCompleted)
        {
            outcome = default;
            return false;
        }

        outcome = _pending.Dequeue().Outcome();
        return true;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the oldest tracked event and hands it back; false
    /// when there is none or it is not done in time (it stays tracked).
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public bool TryTakeNext(TimeSpan timeout, CancellationToken cancellationToken, out SubmissionOutcome outcome)
    {
        outcome = default;
        if (_pending.Count == 0 || !_pending.Peek().WaitFor(timeout, cancellationToken))
        {
            return false;
        }

        outcome = _pending.Dequeue().Outcome();
        return true;
    }

    /// <summary>Stops tracking what is still pending (after a timeout); returns their tags, oldest first. The events themselves stay queued.</summary>
    public IReadOnlyList<object?> Abandon()
    {
        var tags = _pending.Select(p => p.Tag).ToList();
        _pending.Clear();
        return tags;
    }

    /// <summary>
    /// For fire-and-forget submissions, which report nothing each: the events that the writer threads
    /// of the recorders used could not append since this instance first used them, one error per
    /// recorder (the counts are the recorders' own, so another writer's losses count too).
    /// </summary>
    public IReadOnlyList<WalEventNotAppendedException> FailuresSinceStart() =>
        [.. _failedAtStart.Where(f => f.Key.FailedEvents > f.Value)
            .Select(f => new WalEventNotAppendedException(f.Key.Name, f.Key.Path, f.Key.FailedEvents - f.Value, null))];

    private sealed class Tracked(NamedRecorder recorder, ValueTask<long> submitted, object? tag)
    {
        private Task<long>? _task; // once a wait needed it; the value task is then not touched again

        public object? Tag => tag;

        public bool IsCompleted => _task?.IsCompleted ?? submitted.IsCompleted;

        public bool WaitFor(TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (IsCompleted)
            {
                return true;
            }

            _task ??= submitted.AsTask();
            try
            {
                return _task.Wait(timeout, cancellationToken);
            }
            catch (AggregateException)
            {
                return true; // failed: Outcome reports it
            }
        }

        public SubmissionOutcome Outcome()
        {
            try
            {
                long id = _task is null ? submitted.GetAwaiter().GetResult() : _task.GetAwaiter().GetResult();
                return new SubmissionOutcome(recorder, id, null, tag);
            }
            catch (ObjectDisposedException e)
            {
                return new SubmissionOutcome(recorder, 0, recorder.Stopped(e), tag);
            }
            catch (WalException e)
            {
                return new SubmissionOutcome(recorder, 0, e, tag);
            }
            catch (IOException e)
            {
                return new SubmissionOutcome(recorder, 0, new WalEventNotAppendedException(recorder.Name, recorder.Path, 1, e), tag);
            }
        }
    }
}
