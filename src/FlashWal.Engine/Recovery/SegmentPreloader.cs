using System.Diagnostics;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Storage;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Recovery;

/// <summary>
/// A background thread that opens, reads and fully verifies the segments a replay will need next and
/// hands them over through a prepared ring, and takes exhausted readers back through a finished ring
/// and closes them: the replay thread never maps, verifies or closes a file.
/// </summary>
/// <remarks>
/// <para><b>Rings.</b> Two lock-free single-producer single-consumer rings of
/// <see cref="RingCapacity"/> slots, all usable: prepared (this thread produces, the replay thread
/// consumes) and finished (the other way round).</para>
/// <para><b>Reading.</b> A segment closed when the catalog listed it is read whole into one of <see cref="ReadBuffers"/> buffers,
/// which are reused from segment to segment (<see cref="ReadBufferPool"/> says why not a mapping): the
/// memory this costs is that many segments' length. The thread loads the next segment when a buffer
/// is free; the replay thread frees one with each segment it hands back. When none is free and the
/// replay has nothing prepared (it holds them all: the segment it reads and one it deferred), the
/// segment is mapped instead, so the replay never waits on a buffer. A segment that was open when
/// listed is always mapped: a live recorder may seal blocks while it is verified, and the scanner
/// sees them only through a mapping.</para>
/// <para><b>Order and failures.</b> Segments are handed over in the order given, one entry each: a
/// segment that cannot be opened is handed over as a <see cref="PreloadedSegment.Failure"/> in its
/// place, so the replay thread decides (strict stops, salvage reports and goes on) and nothing is
/// skipped silently.</para>
/// <para><b>Waiting.</b> With nothing to do (ring full, nothing finished) the thread spins briefly,
/// then yields, then sleeps 1 ms at a time: an idle preloader costs about a thousand wake-ups per
/// second, and never a core; with two segments ready, a late wake-up costs the replay nothing. The
/// replay thread's <see cref="Take"/> spins briefly, then blocks on an event this thread sets after
/// each hand-over (and at most <see cref="MaxBlockedWait"/> at a time, to look at cancellation): a
/// replay that has caught up with verification resumes the moment the next segment is ready, not at
/// the end of a sleep. Setting the event is this thread's work; the replay thread makes no system
/// call while segments are ready. <see cref="Take"/> returns null once every segment has been handed
/// over, so the end of the log never spins.</para>
/// </remarks>
public sealed class SegmentPreloader : IDisposable
{
    /// <summary>Slots of each ring (all usable).</summary>
    public const int RingCapacity = 4;

    /// <summary>The longest the replay thread blocks in one go before it looks at cancellation again.</summary>
    public static readonly TimeSpan MaxBlockedWait = TimeSpan.FromMilliseconds(10);

    /// <summary>Buffers segments are read into: one for the segment the replay reads, two prepared ahead of it.</summary>
    public const int ReadBuffers = 3;

    private const int SpinsBeforeBlocking = 20;

    private readonly ReadBufferPool _buffers = new(ReadBuffers);

    private readonly SpscRing<PreloadedSegment> _prepared = new(RingCapacity);
    private readonly SpscRing<SegmentReader> _finished = new(RingCapacity);
    private readonly ManualResetEventSlim _handedOver = new(initialState: false, spinCount: 0);
    private readonly bool _salvage;
    private IReadOnlyList<SegmentScan> _segments = [];
    private Thread? _thread;
    private volatile bool _stopping;
    private volatile bool _preloadingDone;
    private volatile bool _done;

    /// <summary>Creates a preloader; <paramref name="salvage"/> opens damaged segments for salvage.</summary>
    public SegmentPreloader(bool salvage, PreloaderTelemetry? telemetry = null)
    {
        _salvage = salvage;
        Telemetry = telemetry ?? new PreloaderTelemetry();
    }

    /// <summary>Its measurements.</summary>
    public PreloaderTelemetry Telemetry { get; }

    /// <summary>Every segment has been opened and handed to the prepared ring.</summary>
    public bool PreloadingIsDone => _preloadingDone;

    /// <summary>The thread has ended and released every reader it held.</summary>
    public bool IsDone => _done;

    /// <summary>Starts preloading <paramref name="segments"/>, in that order.</summary>
    public void Start(IReadOnlyList<SegmentScan> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        if (_thread is not null)
        {
            throw new InvalidOperationException("The preloader has already been started.");
        }

        _segments = segments;
        _preloadingDone = segments.Count == 0;
        _thread = new Thread(Run) { IsBackground = true, Name = "FlashWal preloader" };
        _thread.Start();
    }

    /// <summary>
    /// Replay thread: the next segment, waiting for it if it is not ready; null when every segment has
    /// been handed over (the end of the log), or when <paramref name="cancellation"/> fires.
    /// </summary>
    public PreloadedSegment? Take(CancellationToken cancellation = default)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while (true)
        {
            if (_prepared.TryDequeue(out PreloadedSegment? segment))
            {
                Telemetry.Wait.RecordSince(start);
                return segment;
            }

            if (_preloadingDone || _stopping)
            {
                // The done flag is set after the last enqueue: look once more before calling it the end.
                if (_prepared.TryDequeue(out segment))
                {
                    Telemetry.Wait.RecordSince(start);
                    return segment;
                }

                return null;
            }

            if (cancellation.IsCancellationRequested)
            {
                return null;
            }

            if (spin.Count < SpinsBeforeBlocking)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            // Reset, look again, then block: a hand-over after the look sets the event after the reset.
            _handedOver.Reset();
            if (_prepared.Count == 0 && !_preloadingDone && !_stopping)
            {
                // Not the caller's token: a cancelled wait throws, and Take reports cancellation as null.
                // The bound makes the loop above see cancellation within MaxBlockedWait.
                _handedOver.Wait(MaxBlockedWait, CancellationToken.None);
            }
        }
    }

    /// <summary>Replay thread: hands back an exhausted reader for closing (closes it here if the ring is full).</summary>
    public void Finish(SegmentReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (_stopping || !_finished.TryEnqueue(reader))
        {
            Telemetry.CountSynchronousClose();
            long start = Stopwatch.GetTimestamp();
            reader.Dispose();
            Telemetry.Close.RecordConcurrentSince(start);
        }
    }

    /// <summary>Stops the thread and closes every reader it still holds (prepared or finished).</summary>
    public void Stop()
    {
        _stopping = true;
        _handedOver.Set();
        _thread?.Join();
        _thread = null;
        Drain();
        _done = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop();
        _handedOver.Dispose();
        _buffers.Dispose(); // a buffer the replay still holds is freed when its reader is disposed
    }

    private void Run()
    {
        int next = 0;
        var spin = default(SpinWait);
        while (!_stopping)
        {
            bool worked = false;

            // Finished readers first: each gives a buffer back for the load below.
            while (_finished.TryDequeue(out SegmentReader? finished))
            {
                long start = Stopwatch.GetTimestamp();
                finished.Dispose();
                Telemetry.Close.RecordConcurrentSince(start);
                worked = true;
            }

            if (next < _segments.Count && _prepared.Count < RingCapacity && (_buffers.HasFree || _prepared.Count == 0))
            {
                long start = Stopwatch.GetTimestamp();
                PreloadedSegment segment = PreloadedSegment.Load(_segments[next], _salvage, _buffers);
                Telemetry.Open.RecordSince(start);
                if (segment.Failure is not null)
                {
                    Telemetry.CountFailure();
                }
                else if (segment.Reader is { IsMapped: true })
                {
                    Telemetry.CountMappedSegment();
                }

                _prepared.TryEnqueue(segment); // only this thread fills it, and it checked the count
                next++;
                _preloadingDone = next == _segments.Count;
                _handedOver.Set();
                worked = true;
            }

            if (worked)
            {
                spin.Reset();
            }
            else
            {
                Pause(ref spin);
            }
        }
    }

    /// <summary>Spin a little, then yield, then sleep 1 ms per call: bounded cost while waiting.</summary>
    private static void Pause(ref SpinWait spin)
    {
        if (spin.Count < 50)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
        else
        {
            Thread.Sleep(1);
        }
    }

    private void Drain()
    {
        while (_prepared.TryDequeue(out PreloadedSegment? unused))
        {
            unused.Reader?.Dispose();
        }

        // Finished readers are closes like the thread's own: the report counts every one.
        while (_finished.TryDequeue(out SegmentReader? finished))
        {
            long start = Stopwatch.GetTimestamp();
            finished.Dispose();
            Telemetry.Close.RecordConcurrentSince(start);
        }
    }
}
