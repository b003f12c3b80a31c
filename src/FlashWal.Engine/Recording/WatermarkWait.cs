using System.Diagnostics;

namespace FlashWal.Recording;

/// <summary>
/// Waiting for a watermark (the recorder's durable id, a replicated id) to reach an event: the task
/// that completes at each advance, and the one waiting loop, synchronous and asynchronous, that both
/// marks use. A wait looks at the mark after taking the task, so no advance is missed, and wakes at
/// least every 100 ms to ask whether the mark can still advance (a failure then ends it).
/// </summary>
internal sealed class WatermarkWait(Func<long> mark, Action throwIfFailed)
{
    /// <summary>The longest a wait sleeps between two looks at a failure.</summary>
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every wait: the mark advanced, or can no longer.</summary>
    public void Wake() =>
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until the mark reaches <paramref name="eventId"/>. False on timeout (<see cref="Timeout.InfiniteTimeSpan"/>: none).</summary>
    public bool Wait(long eventId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.StartNew();
        while (!IsOver(eventId, timeout, elapsed, out Task advanced, out TimeSpan slice))
        {
            advanced.Wait(slice, cancellationToken);
        }

        return mark() >= eventId;
    }

    /// <summary>Waits asynchronously until the mark reaches <paramref name="eventId"/>. False on timeout.</summary>
    public async Task<bool> WaitAsync(long eventId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.StartNew();
        while (!IsOver(eventId, timeout, elapsed, out Task advanced, out TimeSpan slice))
        {
            try
            {
                await advanced.WaitAsync(slice, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        return mark() >= eventId;
    }

    /// <summary>
    /// One step: true when the wait is over (reached, or timed out); otherwise the task that completes
    /// at the next advance (taken before the mark is read) and how long to wait for it.
    /// </summary>
    private bool IsOver(long eventId, TimeSpan timeout, Stopwatch elapsed, out Task advanced, out TimeSpan slice)
    {
        advanced = Volatile.Read(ref _advanced).Task;
        slice = TimeSpan.Zero;
        if (mark() >= eventId)
        {
            return true;
        }

        throwIfFailed();
        TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : timeout - elapsed.Elapsed;
        if (left <= TimeSpan.Zero)
        {
            return true;
        }

        slice = left < Slice ? left : Slice;
        return false;
    }
}
