using System.IO.MemoryMappedFiles;

namespace FlashWal.Storage;

/// <summary>
/// A whole file mapped into memory, exposed as a raw pointer so that reads are plain loads: no
/// system call, no lock, no allocation. Readers only: the recorder writes segments with positioned
/// writes from its staging ring (a page of a file mapping faults at its first store).
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

    /// <summary>Removes the mapping and keeps the file open.</summary>
    private void Unmap()
    {
        if (_pointer == null)
        {
            return;
        }

        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
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
