using System.Runtime.CompilerServices;

namespace FlashWal.Recording;

/// <summary>
/// The writer thread's latest commit, published to the maintainer without a lock: a sequence lock.
/// The writer bumps the sequence to odd, writes the fields, bumps it to even; a reader retries
/// while the sequence is odd or changed under it. Writing costs a few plain stores.
/// </summary>
internal sealed class CommitMark
{
    private long _sequence;
    private SegmentWriter? _writer;
    private long _end;
    private long _eventId;

    /// <summary>Writer thread: publishes that <paramref name="writer"/> holds committed events up to <paramref name="eventId"/>, sealed up to <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the writer's drain path: see WalRecorder.CompileWriterPaths
    public void Publish(SegmentWriter writer, long end, long eventId)
    {
        long sequence = _sequence;
        Volatile.Write(ref _sequence, sequence + 1);
        Interlocked.MemoryBarrier(); // the odd sequence must be visible before the fields change
        _writer = writer;
        _end = end;
        _eventId = eventId;
        Volatile.Write(ref _sequence, sequence + 2);
    }

    /// <summary>Any thread: a consistent copy.</summary>
    public (SegmentWriter? Writer, long End, long EventId) Read()
    {
        var spin = default(SpinWait);
        while (true)
        {
            long before = Volatile.Read(ref _sequence);
            if ((before & 1) == 0)
            {
                SegmentWriter? writer = Volatile.Read(ref _writer);
                long end = Volatile.Read(ref _end);
                long id = Volatile.Read(ref _eventId);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _sequence) == before)
                {
                    return (writer, end, id);
                }
            }

            spin.SpinOnce();
        }
    }
}
