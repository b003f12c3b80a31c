using System.Diagnostics;
using System.Runtime.CompilerServices;
using FlashWal.Format;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>
/// A background thread that keeps up to <see cref="PrepareQueueCapacity"/> segment files created
/// ahead (exclusive create, preallocation, header, rename) so that a rotation only takes one from a
/// lock-free ring: no file system call and no wait on the writer thread.
/// </summary>
/// <remarks>
/// <para><b>Its role since the staging ring.</b> It used to map and pre-fault each segment too, for
/// the writer stored records straight into it; the writer now builds blocks in the recorder's staging
/// ring and the flusher writes them into the file, so nothing maps a segment for writing and the
/// preparer only creates the files. It still matters: a creation is a few system calls and a directory
/// change (hundreds of microseconds), which would otherwise fall on the writer at a rotation.</para>
/// <para><b>Indices without gaps.</b> Whoever creates segment <i>i</i> first claims it by moving a
/// shared counter from <i>i</i> to <i>i + 1</i> with a compare-and-swap: the preparer for the segments
/// it prepares ahead, the recorder when the ring is empty at a rotation (a "miss": it then creates the
/// segment itself). The ring therefore only ever holds consecutive indices, and a failed creation
/// gives its claim back, so no index is skipped. While the recorder holds a claim the preparer claims
/// nothing (the counter carries a flag for it): a claim behind the recorder's could not be given back
/// in order, and on a full disk the recorder's index would be lost, its rotation waiting forever.</para>
/// <para><b>Waiting.</b> The writer thread never blocks on the preparer: <see cref="GetNextSegment"/>
/// spins for a bounded time and returns null on a miss. The preparer itself sleeps between checks
/// when the ring is full (1 ms, growing to 16 ms while nothing is taken), so an idle recorder costs
/// nothing and the writer never has to wake it.</para>
/// </remarks>
public sealed class SegmentPreparer : IDisposable
{
    /// <summary>Prepared segments kept ready (all four usable).</summary>
    public const int PrepareQueueCapacity = 4;

    private readonly string _directory;
    private readonly LogId _logId;
    private readonly SegmentOptions _options;
    private readonly SpscRing<SegmentWriter> _ready = new(PrepareQueueCapacity);
    private readonly PreparerTelemetry _telemetry;
    private readonly TimeSpan _spinBudget;
    private Thread? _thread;
    private long _claims; // the next index to claim, shifted left by one; bit 0: the recorder is creating the one before it
    private volatile bool _stopping;
    private volatile Exception? _lastError;

    /// <summary>Creates a preparer for the log <paramref name="logId"/> in <paramref name="directory"/>.</summary>
    public SegmentPreparer(string directory, LogId logId, SegmentOptions options, PreparerTelemetry? telemetry = null, TimeSpan? spinBudget = null, Action? placeThread = null)
    {
        _placeThread = placeThread;
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _directory = directory;
        _logId = logId;
        _options = options;
        _telemetry = telemetry ?? new PreparerTelemetry();
        _spinBudget = spinBudget ?? TimeSpan.FromMicroseconds(50);
    }

    /// <summary>Its measurements.</summary>
    public PreparerTelemetry Telemetry => _telemetry;

    /// <summary>Segments prepared and waiting.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>The last creation error, if the most recent attempt failed.</summary>
    public Exception? LastError => _lastError;

    /// <summary>
    /// Starts preparing from <paramref name="initialSegmentIndex"/> and returns once that first
    /// segment is ready, so the first rotation is prepared already.
    /// </summary>
    /// <exception cref="IOException">The first segment cannot be created (the error of the last of a few attempts).</exception>
    public void Start(long initialSegmentIndex)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("The preparer has already been started.");
        }

        SegmentWriter first = Prepare(initialSegmentIndex, attempts: 3);
        _ready.TryEnqueue(first);
        _claims = Claims(initialSegmentIndex + 1, recorderCreating: false);
        _thread = new Thread(Run) { IsBackground = true, Name = "FlashWal preparer" /* Linux shows 15 characters: "FlashWal prepar" */ };
        _thread.Start();
    }

    /// <summary>
    /// The next prepared segment, or null after a bounded spin when none is ready; its wait goes into
    /// <see cref="PreparerTelemetry.Wait"/>. The caller then counts a miss (<see cref="CountMiss"/>)
    /// and either creates segment <paramref name="index"/> itself, if <see cref="TryClaim"/> lets it, or
    /// calls again: the preparer is creating it right now.
    /// </summary>
    public SegmentWriter? GetNextSegment(long index)
    {
        SegmentWriter? writer = TakeNextSegment(index, out long waitedTicks);
        if (writer is not null)
        {
            _telemetry.Wait.RecordTicks(waitedTicks);
        }

        return writer;
    }

    /// <summary>
    /// The writer thread's call at a rotation: as <see cref="GetNextSegment"/>, but the wait is returned
    /// (<paramref name="waitedTicks"/>, <see cref="Stopwatch"/> ticks) rather than recorded, so that the
    /// rotation touches none of the telemetry's memory (the recorder's drainer records it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per segment: see WalRecorder.Rotate
    internal SegmentWriter? TakeNextSegment(long index, out long waitedTicks)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while (true)
        {
            if (_ready.TryDequeue(out SegmentWriter? writer))
            {
                if (writer.SegmentIndex != index)
                {
                    throw new InvalidOperationException($"Prepared segment {writer.SegmentIndex} arrived where {index} was expected.");
                }

                waitedTicks = Stopwatch.GetTimestamp() - start;
                return writer;
            }

            if (Stopwatch.GetElapsedTime(start) > _spinBudget)
            {
                waitedTicks = 0;
                return null;
            }

            spin.SpinOnce(sleep1Threshold: -1); // never sleep: the writer thread is latency-critical
        }
    }

    /// <summary>
    /// Claims segment <paramref name="index"/> for the caller to create on a miss. False when the
    /// preparer is creating it right now; it will be in the ring shortly.
    /// </summary>
    /// <remarks>A successful claim must be ended by <see cref="EndClaim"/>: the preparer claims nothing until then.</remarks>
    public bool TryClaim(long index)
    {
        bool claimed = Interlocked.CompareExchange(ref _claims, Claims(index + 1, recorderCreating: true), Claims(index, recorderCreating: false)) == Claims(index, recorderCreating: false);
        if (claimed)
        {
            _telemetry.CountWriterCreated();
        }

        return claimed;
    }

    /// <summary>Counts a rotation that found no prepared segment.</summary>
    public void CountMiss() => _telemetry.CountMiss();

    /// <summary>
    /// Ends a claim from <see cref="TryClaim"/>: the segment was created, or its creation failed and
    /// the index is given back, so that it is not skipped. The preparer goes on from there.
    /// </summary>
    public void EndClaim(long index, bool created) =>
        Volatile.Write(ref _claims, Claims(created ? index + 1 : index, recorderCreating: false)); // nobody else changes it while the flag is set

    private static long Claims(long nextIndex, bool recorderCreating) => (nextIndex << 1) | (recorderCreating ? 1L : 0L);

    /// <summary>Stops the thread, then discards every prepared segment (they hold no event).</summary>
    public void Stop()
    {
        _stopping = true;
        _thread?.Join();
        _thread = null;
        // Newest first: at every moment the directory's segment indices stay contiguous, so that a
        // reader listing it while the recorder closes never sees a gap before a prepared segment.
        var unused = new List<SegmentWriter>();
        while (_ready.TryDequeue(out SegmentWriter? writer))
        {
            unused.Add(writer);
        }

        for (int i = unused.Count - 1; i >= 0; i--)
        {
            unused[i].Discard();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Stop();

    private readonly Action? _placeThread;

    private void Run()
    {
        _placeThread?.Invoke();
        int idle = 1;
        while (!_stopping)
        {
            if (_ready.Count >= PrepareQueueCapacity)
            {
                Thread.Sleep(idle);
                idle = Math.Min(idle * 2, 16);
                continue;
            }

            idle = 1;
            long claims = Volatile.Read(ref _claims);
            if ((claims & 1) != 0)
            {
                Thread.Sleep(1); // the recorder is creating a segment itself: claim after it ends, without taking its core meanwhile
                continue;
            }

            long index = claims >> 1;
            if (Interlocked.CompareExchange(ref _claims, Claims(index + 1, recorderCreating: false), claims) != claims)
            {
                continue; // the recorder claimed it on a miss
            }

            SegmentWriter writer;
            try
            {
                writer = Prepare(index, attempts: 1);
            }
            catch (Exception e)
            {
                // Whatever failed (a full disk, a directory removed under us), this thread must never
                // take the process down. Give the index back and retry later: the numbering keeps no
                // gap, and the writer meets the same error, clearly, if it has to create the segment
                // itself. Nobody can have claimed index + 1 meanwhile: the recorder only ever claims
                // the index it needs next, which is this one while this thread holds it.
                Interlocked.CompareExchange(ref _claims, Claims(index, recorderCreating: false), Claims(index + 1, recorderCreating: false));
                _lastError = e;
                _telemetry.CountFailure();
                Thread.Sleep(10);
                continue;
            }

            _lastError = null;
            if (!_ready.TryEnqueue(writer))
            {
                writer.Discard(); // cannot happen: only this thread fills the ring, and it checked the count
            }
        }
    }

    private SegmentWriter Prepare(long index, int attempts)
    {
        for (int attempt = 1; ; attempt++)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                SegmentWriter writer = SegmentWriter.Create(_directory, index, _logId, _options);
                _telemetry.Create.RecordSince(start);
                return writer;
            }
            catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && attempt < attempts)
            {
                _telemetry.CountFailure();
                Thread.Sleep(10);
            }
        }
    }
}
