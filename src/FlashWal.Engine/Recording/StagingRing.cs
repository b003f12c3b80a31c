using System.Runtime.CompilerServices;
using FlashWal.Errors;
using FlashWal.Storage;
using FlashWal.Threading;

namespace FlashWal.Recording;

/// <summary>
/// The recorder's staging ring: resident memory the writer builds blocks in, reused lap after lap,
/// and the queue of sealed blocks that the flusher (or the writer, when it must wait) writes into the
/// segment files.
/// </summary>
/// <remarks>
/// <para>Why: the ring's pages are made resident when the recorder opens and are reused lap after lap,
/// so the writer only ever stores into memory that is already mapped in its page tables (without a
/// prefault, from the second lap on): no append takes a page fault, and a rotation is a queue entry,
/// the next segment's file being written by the flusher. The cost moves to the flusher:
/// the kernel copies each sealed block into the page cache (two <c>pwrite</c>s a block).</para>
/// <para>Positions are bytes since the ring was created: a block occupies [position, position +
/// length), at <c>position % Size</c> in memory, never across the ring's end (a block that would
/// cross it starts at the beginning instead). The writer may reuse memory up to <c>Size</c> bytes past
/// the position up to which blocks are in their files.</para>
/// <para>Draining (writing queued blocks into their files) is done by one thread at a time, whichever
/// takes the drain flag: the flusher's thread normally, the writer when a commit must be in the file
/// on return or the ring is full. The flag's interlocked exchange orders one drainer's writes before
/// the next one's reads. The first failed write stops the ring: every later drain throws it.</para>
/// </remarks>
internal sealed unsafe class StagingRing : BlockStaging, IDisposable
{
    private readonly ResidentMemory _memory;
    private readonly byte* _base;
    private readonly long _size;
    private readonly long _mask;
    private readonly SpscRing<SealedBlock> _sealed;
    private readonly IStagingListener _listener;

    // Writer thread only.
    private long _head;        // position after the last sealed block
    private long _reservedAt;  // position of the block reserved last
    private long _sealedCount; // entries queued so far

    // Drainer (one thread at a time), read by any.
    private PaddedLong _written;      // position up to which blocks are in their files
    private PaddedLong _writtenCount; // queue entries done
    private int _draining;
    private volatile Exception? _failure;

    /// <summary>A ring of <paramref name="size"/> bytes (a power of two, at least twice the largest block) made resident by <paramref name="prefault"/>.</summary>
    public StagingRing(long size, PrefaultMode prefault, IStagingListener listener)
    {
        if (size < 2 * Format.SegmentFormat.PageSize || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The staging ring's size must be a power of two of at least two pages.");
        }

        _listener = listener;
        _memory = ResidentMemory.Allocate(size, prefault);
        _base = _memory.Pointer;
        _size = size;
        _mask = size - 1;
        _sealed = new SpscRing<SealedBlock>(QueueCapacity(size));
    }

    /// <summary>Bytes.</summary>
    public long Size => _size;

    /// <summary>How the ring's memory was made resident, and why.</summary>
    public ResidentMemory Memory => _memory;

    /// <summary>Times the writer found the ring (or its queue) full and wrote blocks itself or waited. Any thread.</summary>
    public long Stalls => Volatile.Read(ref _stalls);

    private long _stalls;

    /// <summary>The ring's size for blocks of <paramref name="blockSize"/> bytes: 8 MiB, or four blocks when that is more.</summary>
    public static long SizeFor(int blockSize) => Math.Max(8L << 20, 4L * blockSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override byte* Reserve(int length)
    {
        long at = _head;
        long inRing = at & _mask;
        if (inRing + length > _size)
        {
            at += _size - inRing; // never across the end: the block starts at the beginning
        }

        if (at + length - Volatile.Read(ref _written.Value) > _size)
        {
            WaitForRoom(at + length);
        }

        _reservedAt = at;
        return _base + (at & _mask);
    }

    public override void Sealed(SegmentWriter segment, long offset, int length, long lastEventId, DataCrcSoFar crcSoFar)
    {
        long at = _reservedAt;
        _head = at + length;
        Enqueue(new SealedBlock(segment, offset, at, length, lastEventId, crcSoFar, null, default));
    }

    /// <summary>
    /// Writer thread, at a rotation: once the blocks sealed before it are written, <paramref name="ended"/>
    /// goes to the listener (which hands it over for closing) and <paramref name="next"/> becomes the
    /// segment the committed mark points at. The writer itself goes on in <paramref name="next"/> at once.
    /// <paramref name="timing"/> travels with the entry to the listener, which records it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per segment: see WalRecorder.Rotate
    public void SegmentEnded(SegmentWriter ended, SegmentWriter next, RotationTiming timing) =>
        Enqueue(new SealedBlock(ended, 0, 0, 0, 0, DataCrcSoFar.None, next, timing));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void WaitWritten()
    {
        long target = _sealedCount;
        var spin = default(SpinWait);
        while (Volatile.Read(ref _writtenCount.Value) < target)
        {
            if (!TryDrain(out _))
            {
                spin.SpinOnce(-1); // the flusher is writing them: never sleeps a whole millisecond
            }
        }

        ThrowIfFailed();
    }

    /// <summary>
    /// Writes every queued block into its file, unless another thread is doing it (false, nothing
    /// done). <paramref name="wrote"/> says whether there was anything to write.
    /// </summary>
    /// <exception cref="IOException">A write failed, now or before (the ring is stopped).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryDrain(out bool wrote)
    {
        wrote = false;
        if (Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
        {
            return false;
        }

        try
        {
            ThrowIfFailed();
            wrote = WriteQueued();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or WalException or ObjectDisposedException)
        {
            _failure ??= e;
            throw;
        }
        finally
        {
            Volatile.Write(ref _draining, 0);
        }
    }

    /// <summary>The write that failed, if one did: nothing queued after it is written.</summary>
    public Exception? Failure => _failure;

    public void Dispose() => _memory.Dispose();

    private static int QueueCapacity(long size)
    {
        // A block is at least two cache lines (its header and one record); at one queue entry per
        // 1 KiB the queue fills only under commits of a few events each, and then the writer drains.
        long entries = Math.Clamp(size / 1024, 64, 1 << 16);
        return (int)entries;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enqueue(SealedBlock block)
    {
        if (!_sealed.TryEnqueue(block))
        {
            EnqueueWhenRoom(block);
        }

        _sealedCount++;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // the writer's drain path: see WalRecorder.CompileWriterPaths
    private void EnqueueWhenRoom(SealedBlock block)
    {
        Interlocked.Increment(ref _stalls);
        var spin = default(SpinWait);
        while (!_sealed.TryEnqueue(block))
        {
            ThrowIfFailed();
            if (!TryDrain(out _))
            {
                spin.SpinOnce(-1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void WaitForRoom(long end)
    {
        Interlocked.Increment(ref _stalls);
        var spin = default(SpinWait);
        while (end - Volatile.Read(ref _written.Value) > _size)
        {
            ThrowIfFailed();
            if (!TryDrain(out _))
            {
                spin.SpinOnce(-1);
            }
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new WalException($"Writing a sealed block into its segment failed earlier ({failure.Message.TrimEnd('.')}); nothing sealed after it is written.", (failure as WalException)?.Path, failure);
        }
    }

    /// <summary>Drainer: writes the queue's blocks into their files, one at a time (see <see cref="SegmentWriter.WriteBlock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool WriteQueued()
    {
        bool wrote = false;
        while (_sealed.TryDequeue(out SealedBlock block))
        {
            wrote = true;
            if (block.Length == 0)
            {
                block.Next!.ContinueChainFrom(block.Segment); // every block of the ended segment is written: its chain is final
                _listener.SegmentEnded(block.Segment, block.Next!, block.Timing);
            }
            else
            {
                block.Segment.WriteBlock(_base + (block.Position & _mask), block.Offset, block.Length, block.LastEventId, block.CrcSoFar);
                _listener.BlocksWritten(block.Segment, block.Offset + block.Length, block.LastEventId);
                Volatile.Write(ref _written.Value, block.Position + block.Length);
            }

            // After the listener: a writer waiting on the count reads the watermark next.
            Volatile.Write(ref _writtenCount.Value, _writtenCount.Value + 1);
        }

        return wrote;
    }

    /// <summary>One queue entry: a sealed block, or with a length of 0 the end of <see cref="Segment"/> (and how long the rotation took).</summary>
    internal readonly record struct SealedBlock(SegmentWriter Segment, long Offset, long Position, int Length, long LastEventId, DataCrcSoFar CrcSoFar, SegmentWriter? Next, RotationTiming Timing);
}

/// <summary>What the recorder learns from its staging ring's drainer (on the drainer's thread).</summary>
internal interface IStagingListener
{
    /// <summary>Blocks of <paramref name="segment"/> up to offset <paramref name="end"/>, ending with event <paramref name="lastEventId"/>, are in the file: committed.</summary>
    void BlocksWritten(SegmentWriter segment, long end, long lastEventId);

    /// <summary>Every block of <paramref name="ended"/> is in its file; the writer went on in <paramref name="next"/>, after a rotation that took <paramref name="timing"/>.</summary>
    void SegmentEnded(SegmentWriter ended, SegmentWriter next, RotationTiming timing);
}

/// <summary>
/// What the writer measured of one rotation, in <see cref="System.Diagnostics.Stopwatch"/> ticks: the
/// whole of it, and the part spent taking the prepared segment (-1: the writer created the segment
/// itself, or there is no preparer). Carried to the drainer, which records both: the histograms'
/// memory is then never touched by the writer at a rotation (each cold cache line there costs the
/// writer about 130 ns on these hosts: docs/PERFORMANCE.md).
/// </summary>
internal readonly record struct RotationTiming(long Ticks, long WaitedTicks);
