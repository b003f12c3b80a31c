using System.Runtime.InteropServices;
using FlashWal.Format;

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
    /// <paramref name="crcSoFar"/> is the part of its data CRC the writer has already taken.
    /// </summary>
    public abstract void Sealed(SegmentWriter segment, long offset, int length, long lastEventId, DataCrcSoFar crcSoFar);

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

    public override void Sealed(SegmentWriter segment, long offset, int length, long lastEventId, DataCrcSoFar crcSoFar) =>
        segment.WriteBlock(_reserved, offset, length, lastEventId, crcSoFar);

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

/// <summary>
/// The part of a sealed block's data CRC-32C that the writer has already taken: the raw register
/// (<see cref="Crc32C.Begin"/>, <see cref="Crc32C.Update(uint, ReadOnlySpan{byte})"/>) over the first
/// <see cref="Length"/> bytes of the block's data. Whoever writes the block into the file feeds the
/// rest (<see cref="BlockHeader.Complete"/>).
/// </summary>
/// <remarks>
/// Why: a batch's records are in the writer's cache just after it stored them, so the writer takes
/// their CRC three lanes at a time for about a nanosecond per record; the drainer, on another core,
/// would read them cold. Single appends leave it to the drainer, where it costs the writer nothing.
/// </remarks>
internal readonly record struct DataCrcSoFar(int Length, uint Register)
{
    /// <summary>Nothing taken yet: the drainer computes the whole CRC.</summary>
    public static DataCrcSoFar None => new(0, Crc32C.Begin());
}
