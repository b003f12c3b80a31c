using System.Diagnostics;
using FlashWal.Format;

namespace FlashWal.Recording;

/// <summary>
/// The writer's clock for event timestamps: the monotonic counter (<see cref="Stopwatch"/>, the
/// vDSO's <c>CLOCK_MONOTONIC</c> on Linux) carried to wall time from an anchor, a pair of readings
/// of both clocks that the recorder's maintainer retakes every 100 ms.
/// </summary>
/// <remarks>
/// <para>Why: <see cref="DateTime.UtcNow"/> costs about 31 ns on these machines (it checks for leap
/// seconds on every call), the monotonic counter about half that; at millions of events a second
/// that is most of an append's cost outside the store itself.</para>
/// <para>How far it can be from the wall clock: NTP slews the monotonic clock at the same rate as the
/// wall clock, so between two anchors they differ only by a step of the wall clock (an operator's
/// <c>date -s</c>, a leap second), which the next anchor takes up, within 100 ms. Each re-anchor
/// measures how far the clock had gone from the wall clock (<see cref="MaxDriftNs"/>, in the
/// recorder's telemetry). Timestamps are what the writer read when it appended; they are not
/// promised to increase (the wall clock itself can step back).</para>
/// </remarks>
internal sealed class EventClock
{
    /// <summary>How often the maintainer re-anchors.</summary>
    public static readonly TimeSpan AnchorInterval = TimeSpan.FromMilliseconds(100);

    private static readonly bool s_nanosecondTicks = Stopwatch.Frequency == 1_000_000_000;
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    private Anchor _anchor = Anchor.Take();
    private long _maxDriftNs;
    private long _anchors = 1;

    /// <summary>Now, in nanoseconds since the Unix epoch. Any thread; no allocation, no lock.</summary>
    public long UnixNs()
    {
        Anchor anchor = Volatile.Read(ref _anchor);
        long ticks = Stopwatch.GetTimestamp() - anchor.Ticks;
        return anchor.UnixNs + (s_nanosecondTicks ? ticks : (long)(ticks * s_nsPerTick));
    }

    /// <summary>The largest distance from the wall clock any re-anchor found, in ns.</summary>
    public long MaxDriftNs => Volatile.Read(ref _maxDriftNs);

    /// <summary>Anchors taken so far.</summary>
    public long Anchors => Volatile.Read(ref _anchors);

    /// <summary>Takes a new anchor (the maintainer, every <see cref="AnchorInterval"/>) and records how far the clock had drifted.</summary>
    public void Reanchor()
    {
        Anchor next = Anchor.Take();
        Anchor current = Volatile.Read(ref _anchor);
        long ticks = next.Ticks - current.Ticks;
        long predicted = current.UnixNs + (s_nanosecondTicks ? ticks : (long)(ticks * s_nsPerTick));
        long drift = Math.Abs(predicted - next.UnixNs);
        if (drift > _maxDriftNs)
        {
            Volatile.Write(ref _maxDriftNs, drift);
        }

        Volatile.Write(ref _anchor, next);
        Interlocked.Increment(ref _anchors);
    }

    /// <summary>A reading of both clocks taken as close together as three tries allow (the closest pair wins).</summary>
    private sealed record Anchor(long Ticks, long UnixNs)
    {
        public static Anchor Take()
        {
            Anchor? best = null;
            long bestGap = long.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                long before = Stopwatch.GetTimestamp();
                long wall = WalClock.UnixNs();
                long after = Stopwatch.GetTimestamp();
                if (after - before < bestGap)
                {
                    bestGap = after - before;
                    best = new Anchor(before + ((after - before) / 2), wall);
                }
            }

            return best!;
        }
    }
}
