using System.Runtime.InteropServices;

namespace FlashWal.Recording;

/// <summary>
/// Where a <see cref="SegmentWriter"/> builds each block before it reaches the segment file, and who
/// writes it there once it is sealed.
/// </summary>
/// <remarks>
/// The writer thread calls all three methods. A block is reserved when it opens (the memory its
/// records are stored into, contiguous, as long as the block may grow), sealed when its header is
/// written, and committed once <see cref="SegmentWriter.WriteBlock"/> has put it into the file.
/// </remarks>
internal abstract unsafe class BlockStaging
{
    /// <summary>Writer thread: memory for the next block, at most <paramref name="length"/> bytes.</summary>
    public abstract byte* Reserve(int length);

    /// <summary>
    /// Writer thread: the block reserved last is sealed, <paramref name="length"/> bytes for segment
    /// offset <paramref name="offset"/> of <paramref name="segment"/>, ending with event
    /// <paramref name="lastEventId"/>.
    /// </summary>
    public abstract void Sealed(SegmentWriter segment, long offset, int length, long lastEventId);

    /// <summary>Writer thread: returns once every block sealed so far is in its file.</summary>
    public abstract void WaitWritten();
}

/// <summary>
/// The staging of a standalone <see cref="SegmentWriter"/> (tools, tests): one block's buffer of its
/// own, written into the file by the writer itself as each block is sealed.
/// </summary>
internal sealed unsafe class OwnBlockBuffer : BlockStaging, IDisposable
{
    private byte* _buffer;
    private byte* _reserved;

    public OwnBlockBuffer(int blockSize)
    {
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)blockSize, 64);
    }

    public override byte* Reserve(int length)
    {
        ObjectDisposedException.ThrowIf(_buffer == null, this);
        _reserved = _buffer;
        return _buffer;
    }

    public override void Sealed(SegmentWriter segment, long offset, int length, long lastEventId) =>
        segment.WriteBlock(_reserved, offset, length, lastEventId);

    public override void WaitWritten()
    {
        // Every block was written as it was sealed.
    }

    public void Dispose()
    {
        if (_buffer != null)
        {
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }
}
