namespace FlashWal.Storage;

/// <summary>
/// A few buffers that whole segment files are read into (positioned reads) instead of mapped, each
/// reused from one segment to the next: the recovery preloader's way of reading a log.
/// </summary>
/// <remarks>
/// Why not a mapping: every page of a fresh mapping faults on its first read, and on a guest whose
/// hypervisor fills its page tables lazily (shadow paging) those faults cost more than the copy. On
/// such a host (2026-12-05, 51 recorder-written segments of 8 MiB in the page cache), mapping a
/// segment and computing its CRC took 6.1 ms; reading it into a reused buffer and the same CRC took
/// 1.4 ms. A buffer that was read into before is resident and mapped already, so the copy is all
/// that is paid; where faults are cheap, the copy costs about what the faults did.
/// Memory: at most <see cref="Capacity"/> buffers, each as long as the longest file read into it.
/// A buffer is out from <see cref="TryRent"/> until its <see cref="ReadBuffer.Release"/>; the pool
/// frees it then if the pool was disposed meanwhile, so a reader never loses memory under it.
/// </remarks>
internal sealed unsafe class ReadBufferPool : IDisposable
{
    private readonly object _gate = new();
    private readonly Stack<ReadBuffer> _free = new();
    private int _out;
    private bool _disposed;

    /// <param name="capacity">The most buffers out and pooled together.</param>
    public ReadBufferPool(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>The most buffers out and pooled together.</summary>
    public int Capacity { get; }

    /// <summary>Whether <see cref="TryRent"/> would hand out a buffer now. Any thread.</summary>
    public bool HasFree
    {
        get
        {
            lock (_gate)
            {
                return !_disposed && _out < Capacity;
            }
        }
    }

    /// <summary>
    /// A buffer of at least <paramref name="length"/> bytes (a pooled one, grown if it is shorter), or
    /// false when <see cref="Capacity"/> buffers are out or the pool is disposed.
    /// </summary>
    public bool TryRent(long length, out ReadBuffer? buffer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ReadBuffer? pooled;
        lock (_gate)
        {
            if (_disposed || _out == Capacity)
            {
                buffer = null;
                return false;
            }

            _out++;
            _free.TryPop(out pooled);
        }

        try
        {
            buffer = pooled ?? new ReadBuffer(this);
            buffer.EnsureCapacity(length);
            return true;
        }
        catch
        {
            pooled?.Free();
            lock (_gate)
            {
                _out--;
            }

            throw;
        }
    }

    /// <summary>Frees the pooled buffers; one still out is freed when it is released.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            while (_free.TryPop(out ReadBuffer? buffer))
            {
                buffer.Free();
            }
        }
    }

    private void Return(ReadBuffer buffer)
    {
        lock (_gate)
        {
            _out--;
            if (!_disposed)
            {
                _free.Push(buffer);
                return;
            }
        }

        buffer.Free();
    }

    /// <summary>
    /// Native memory that a file is read into: 2 MiB aligned, a whole number of 2 MiB, asked for
    /// transparent huge pages (<see cref="ResidentMemory"/> with no prefault). Why: the first read
    /// into a fresh buffer faults in each of its pages; here (2026-12-05) a read of 8 MiB into fresh
    /// 4 KiB pages took 21 to 28 ms, into fresh huge pages 1.4 ms, and into a warm buffer 0.55 to
    /// 0.75 ms, so a recovery's first segments no longer wait tens of milliseconds each.
    /// </summary>
    internal sealed class ReadBuffer
    {
        private const long Granule = 2 << 20;
        private readonly ReadBufferPool _pool;
        private ResidentMemory? _memory;

        internal ReadBuffer(ReadBufferPool pool) => _pool = pool;

        /// <summary>The first byte.</summary>
        public byte* Pointer { get; private set; }

        /// <summary>Bytes the buffer holds.</summary>
        public long Capacity { get; private set; }

        /// <summary>Reads the first <paramref name="length"/> bytes of <paramref name="file"/>; returns how many there were (fewer at its end).</summary>
        /// <exception cref="IOException">A read failed.</exception>
        public long ReadFrom(Microsoft.Win32.SafeHandles.SafeFileHandle file, long length)
        {
            long done = 0;
            while (done < length)
            {
                int chunk = (int)Math.Min(length - done, 1 << 30);
                int read = RandomAccess.Read(file, new Span<byte>(Pointer + done, chunk), done);
                if (read == 0)
                {
                    break; // the file is shorter than when its length was taken
                }

                done += read;
            }

            return done;
        }

        /// <summary>Gives the buffer back to its pool; the memory must not be used after.</summary>
        public void Release() => _pool.Return(this);

        internal void EnsureCapacity(long length)
        {
            if (Capacity >= length)
            {
                return;
            }

            Free();
            long size = (length + (Granule - 1)) & -Granule;
            _memory = ResidentMemory.Allocate(size, PrefaultMode.None);
            Pointer = _memory.Pointer;
            Capacity = size;
        }

        internal void Free()
        {
            _memory?.Dispose();
            _memory = null;
            Pointer = null;
            Capacity = 0;
        }
    }
}
