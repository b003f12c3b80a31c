using System.Buffers.Binary;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Recovery;

/// <summary>
/// Decides where the parts of one segment copied from elsewhere (a replica stream) may go: its
/// header, its blocks in order, bytes outside the blocks, its summary. Each part is checked against
/// the header and the parts before it (each where the previous one ended, inside the file, of the
/// same log and segment); the bytes themselves are judged by the scanner or verifier once the segment
/// is rebuilt. The restore writes the parts into a file (<see cref="SegmentAssembly"/>) and the remote
/// reader into memory, and both place them with this one class, so they refuse the same parts.
/// </summary>
public sealed class SegmentPlacement
{
    private SegmentPlacement(SegmentHeader header, string name)
    {
        Header = header;
        Name = name;
        NextBlockOffset = header.DataOffset;
        Length = header.Capacity;
    }

    /// <summary>The segment's header, decoded.</summary>
    public SegmentHeader Header { get; }

    /// <summary>What errors call the segment: its path in a restore, <c>stream/index.wal</c> in a remote read.</summary>
    public string Name { get; }

    /// <summary>Where the next block must start: just past the last block placed (the data offset before any).</summary>
    public long NextBlockOffset { get; private set; }

    /// <summary>Blocks placed.</summary>
    public int BlockCount { get; private set; }

    /// <summary>Whether its summary was placed.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>The file's length: its capacity, until the summary's part gives it the length the recorder left.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Starts segment <paramref name="segmentIndex"/> of the log <paramref name="logId"/> from its
    /// 128 header bytes, <paramref name="header"/>, copied for <paramref name="target"/> (the
    /// directory restored into, or the stream read); <paramref name="name"/> names the segment in errors.
    /// </summary>
    /// <exception cref="WalReplicaException">The header is not valid, is another log's or another segment's, or has a layout this build cannot place.</exception>
    public static SegmentPlacement Begin(ReadOnlySpan<byte> header, LogId logId, long segmentIndex, string target, string name)
    {
        if (header.Length != SegmentFormat.HeaderSize || !header[..SegmentFormat.Magic.Length].SequenceEqual(SegmentFormat.Magic)
            || SegmentHeader.StoredCrc(header) != SegmentHeader.ComputeCrc(header))
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, $"A segment header copied for '{target}' is not a valid header ({header.Length} bytes, bad magic or CRC).", target);
        }

        SegmentHeader decoded = SegmentHeader.Read(header);
        if (decoded.LogId != logId)
        {
            throw new WalReplicaException(WalReplicaException.ForeignLogErrorId, $"Segment {decoded.SegmentIndex} copied for '{target}' belongs to log {decoded.LogId}, not to log {logId}.", target);
        }

        if (decoded.SegmentIndex != segmentIndex)
        {
            throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The header copied for segment {segmentIndex} of '{target}' is the header of segment {decoded.SegmentIndex}."), target);
        }

        if (decoded.Version != SegmentFormat.Version || decoded.DataOffset != SegmentFormat.DataOffset
            || decoded.Capacity < SegmentFormat.DataOffset || decoded.Capacity > SegmentFormat.MaxSegmentSize)
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, string.Create(CultureInfo.InvariantCulture,
                $"Segment {decoded.SegmentIndex} copied for '{target}' has a header this build cannot place: version {decoded.Version}, data offset {decoded.DataOffset}, capacity {decoded.Capacity}."), target);
        }

        return new SegmentPlacement(decoded, name);
    }

    /// <summary>
    /// Places consecutive whole blocks, <paramref name="blocks"/>, at <paramref name="offset"/>, which
    /// must be where the last block ended. Each block's length is read from its header to find where
    /// the next one starts; their checksums are the scanner's to judge.
    /// </summary>
    /// <exception cref="WalReplicaException">The blocks do not start where the last ended, are not whole blocks, do not fit, or come after the summary.</exception>
    public void Blocks(long offset, ReadOnlySpan<byte> blocks)
    {
        if (IsClosed || offset != NextBlockOffset)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture,
                $"blocks at offset {offset} where {(IsClosed ? "the summary was written already" : "the next block starts at " + NextBlockOffset)}"));
        }

        int at = 0;
        int count = 0;
        while (at < blocks.Length)
        {
            int length = blocks.Length - at < SegmentFormat.BlockHeaderSize
                ? -1
                : (int)BinaryPrimitives.ReadUInt32LittleEndian(blocks[(at + 4)..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(blocks[at..]) != SegmentFormat.BlockMagic || length < 2 * SegmentFormat.BlockAlignment
                || length % SegmentFormat.BlockAlignment != 0 || length > blocks.Length - at)
            {
                throw new WalReplicaException(WalReplicaException.BadPartErrorId, string.Create(CultureInfo.InvariantCulture,
                    $"The blocks copied for '{Name}' at offset {offset} are not whole blocks: at offset {offset + at} there is no block of a length that fits ({blocks.Length - at} bytes left)."), Name);
            }

            at += length;
            count++;
        }

        if (offset + blocks.Length > Header.Capacity)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"{blocks.Length} bytes of blocks at offset {offset} run past the capacity {Header.Capacity}"));
        }

        NextBlockOffset = offset + blocks.Length;
        BlockCount += count;
    }

    /// <summary>
    /// Places <paramref name="length"/> bytes that lie outside the header, the summary and the blocks
    /// (a frame's strays: an abandoned tail after a recovered close) at <paramref name="offset"/>.
    /// </summary>
    /// <exception cref="WalReplicaException">The bytes overlap the header, the summary area or the blocks, or lie outside the file.</exception>
    public void Stray(long offset, int length)
    {
        long end = offset + length;
        bool overlaps = offset < SegmentFormat.HeaderSize
            || (offset < SegmentFormat.SummaryOffset + SegmentFormat.SummarySize && end > SegmentFormat.SummaryOffset)
            || (offset < NextBlockOffset && end > SegmentFormat.DataOffset)
            || end > Math.Max(Header.Capacity, Length);
        if (overlaps)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"{length} stray bytes at offset {offset}, which overlap the header, the summary, the blocks or the end of the file"));
        }
    }

    /// <summary>
    /// Places the segment's summary (its 64 bytes, at <see cref="SegmentFormat.SummaryOffset"/>) after
    /// checking that it describes the blocks placed (its data end and block count), and gives the file
    /// <paramref name="length"/>.
    /// </summary>
    /// <exception cref="WalReplicaException">The summary is not valid, does not describe the blocks placed, or comes twice.</exception>
    public void Close(ReadOnlySpan<byte> summary, long length)
    {
        if (IsClosed)
        {
            throw Misplaced("a second summary");
        }

        if (SegmentSummary.TryRead(summary, out _) is not { } decoded)
        {
            throw new WalReplicaException(WalReplicaException.BadPartErrorId, $"The summary copied for '{Name}' is not a valid summary.", Name);
        }

        if (decoded.DataEnd != NextBlockOffset || decoded.BlockCount != BlockCount)
        {
            throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The summary copied for '{Name}' describes {decoded.BlockCount} blocks ending at offset {decoded.DataEnd}, but {BlockCount} blocks ending at offset {NextBlockOffset} were copied: blocks are missing."), Name);
        }

        if (length < NextBlockOffset || length > SegmentFormat.MaxSegmentSize)
        {
            throw Misplaced(string.Create(CultureInfo.InvariantCulture, $"a file length of {length}, {(length < NextBlockOffset ? "shorter than its blocks" : "longer than a segment may be")}"));
        }

        Length = length;
        IsClosed = true;
    }

    private WalReplicaException Misplaced(string what) =>
        new(WalReplicaException.OutOfOrderErrorId, $"Segment {Header.SegmentIndex} copied for '{Name}' got {what}.", Name);
}
