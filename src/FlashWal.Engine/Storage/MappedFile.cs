using System.ComponentModel;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FlashWal.Storage;

/// <summary>
/// A whole file mapped into memory, exposed as a raw pointer so that appends and reads are plain
/// loads and stores: no system call, no lock, no allocation.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    private MappedFile(FileStream stream, long length, bool writable)
    {
        Stream = stream;
        Length = length;
        MemoryMappedFileAccess access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
        _map = MemoryMappedFile.CreateFromFile(stream, mapName: null, length, access, HandleInheritability.None, leaveOpen: true);
        try
        {
            _view = _map.CreateViewAccessor(0, length, access);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _pointer = p + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _map.Dispose();
            throw;
        }
    }

    /// <summary>The open file behind the mapping (kept for pwrite and fsync).</summary>
    public FileStream Stream { get; }

    /// <summary>Mapped length in bytes.</summary>
    public long Length { get; }

    /// <summary>The first mapped byte.</summary>
    public byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(MappedFile));

    /// <summary>Maps all of <paramref name="stream"/>'s first <paramref name="length"/> bytes. Takes ownership of the stream.</summary>
    public static MappedFile Map(FileStream stream, long length, bool writable)
    {
        try
        {
            return new MappedFile(stream, length, writable);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>A span over <paramref name="length"/> mapped bytes at <paramref name="offset"/>.</summary>
    public Span<byte> Span(long offset, int length) => new(Pointer + offset, length);

    /// <summary>
    /// Pre-faults every page of [<paramref name="offset"/>, +<paramref name="length"/>) for writing,
    /// so that the first store to each page takes no page fault on the hot path.
    /// </summary>
    public PrefaultMode Prefault(long offset, long length, PrefaultMode mode)
    {
        if (mode == PrefaultMode.None || length <= 0)
        {
            return PrefaultMode.None;
        }

        if (mode != PrefaultMode.Touch && OperatingSystem.IsLinux())
        {
            byte* start = Pointer + offset;
            long misalignment = (long)start & (Environment.SystemPageSize - 1);
            if (NativeMethods.madvise(start - misalignment, (nuint)(length + misalignment), NativeMethods.MadvPopulateWrite) == 0)
            {
                return PrefaultMode.PopulateWrite;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (mode == PrefaultMode.PopulateWrite || errno != NativeMethods.EInval)
            {
                // EINVAL means "kernel without MADV_POPULATE_WRITE" (before 5.14): fall back to touching.
                // Anything else (ENOMEM, EFAULT, a full disk on a sparse file: SIGBUS is avoided by the
                // preallocation) is a real failure the caller must see.
                throw new IOException($"madvise(MADV_POPULATE_WRITE) failed: {new Win32Exception(errno).Message}");
            }
        }

        // Read each page's first byte and write it back: the value never changes, the page becomes
        // present and writable.
        int page = Environment.SystemPageSize;
        byte* p = Pointer + offset;
        byte* end = p + length;
        for (; p < end; p += page)
        {
            Volatile.Write(ref *p, Volatile.Read(ref *p));
        }

        return PrefaultMode.Touch;
    }

    /// <summary>
    /// Writes the dirty pages of [<paramref name="offset"/>, +<paramref name="length"/>) to stable
    /// storage: <c>msync(MS_SYNC)</c> of that range on Linux (which also flushes the file data the
    /// range maps), the view's flush plus <c>fsync</c> elsewhere. False, with the error number, when
    /// the system call failed (<see cref="Disk.SyncRange"/> turns that into the typed error).
    /// </summary>
    public bool Flush(long offset, long length, out int errno)
    {
        errno = 0;
        if (length <= 0)
        {
            return true;
        }

        if (OperatingSystem.IsLinux())
        {
            byte* start = Pointer + offset;
            long misalignment = (long)start & (Environment.SystemPageSize - 1);
            if (NativeMethods.msync(start - misalignment, (nuint)(length + misalignment), NativeMethods.MsSync) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return false;
            }

            return true;
        }

        _view.Flush();
        Stream.Flush(flushToDisk: true);
        return true;
    }

    /// <summary>The file handle, for positioned writes.</summary>
    public SafeFileHandle Handle => Stream.SafeFileHandle;

    /// <summary>
    /// Removes the mapping and keeps the file open. Dirty pages stay in the page cache, dirty, for a
    /// later fsync of <see cref="Stream"/> to write: unmapping writes nothing back.
    /// </summary>
    public void Unmap()
    {
        if (_pointer == null)
        {
            return;
        }

        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();

        // munmap first: a writable MemoryMappedViewAccessor's Dispose flushes the view (msync MS_SYNC)
        // while it is still mapped, and writing back mapped pages write-protects each one, a
        // TLB-shootdown interrupt per page on every core running this process (the writer's too:
        // p99.9 of ordinary appends 6.5 us instead of 0.2 us, docs/PERFORMANCE.md). With the view
        // closed the accessor skips its flush; callers that need the data durable fsync the file.
        _view.SafeMemoryMappedViewHandle.Dispose();
        _view.Dispose();
        _map.Dispose();
    }

    /// <summary>Unmaps and closes the file.</summary>
    public void Dispose()
    {
        Unmap();
        Stream.Dispose();
    }
}
