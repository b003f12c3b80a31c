using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Reading;

/// <summary>
/// What a closed segment file holds besides its blocks: its header, its summary, its length, and
/// every byte that is not zero outside the header, the summary and the blocks (an abandoned tail
/// after a recovered close, FORMAT.md §6). With the blocks a <see cref="WalTailer"/> hands out, it
/// is the whole file: a copier (replication) that places both at their offsets in a file of
/// <see cref="Length"/> zeros rebuilds the segment byte for byte. A compressed segment is read as the
/// plain segment it holds.
/// </summary>
public sealed class SegmentFrame
{
    /// <summary>Read in pieces of this size when looking for bytes that are not zero.</summary>
    private const int Chunk = 1 << 20;

    private SegmentFrame(long index, ReadOnlyMemory<byte> header, SegmentSummary summary, ReadOnlyMemory<byte> summaryBytes, long length, IReadOnlyList<SegmentBytes> strays)
    {
        Index = index;
        Header = header;
        Summary = summary;
        SummaryBytes = summaryBytes;
        Length = length;
        Strays = strays;
    }

    /// <summary>The segment's index.</summary>
    public long Index { get; }

    /// <summary>The 128 header bytes at offset 0.</summary>
    public ReadOnlyMemory<byte> Header { get; }

    /// <summary>The segment's summary, decoded.</summary>
    public SegmentSummary Summary { get; }

    /// <summary>The 64 summary bytes at offset 512, as in the file.</summary>
    public ReadOnlyMemory<byte> SummaryBytes { get; }

    /// <summary>The file's length (its capacity, in a segment without damage).</summary>
    public long Length { get; }

    /// <summary>Runs of bytes that are not zero outside the header, the summary and the blocks, in file order; usually none.</summary>
    public IReadOnlyList<SegmentBytes> Strays { get; }

    /// <summary>The 128 header bytes of segment <paramref name="index"/> of <paramref name="directory"/>, checked (magic, CRC, index).</summary>
    /// <exception cref="WalPathNotFoundException">The segment is in neither a plain nor a compressed file.</exception>
    /// <exception cref="WalFormatException">The file's header is not a valid header of that segment.</exception>
    public static byte[] ReadHeader(string directory, long index)
    {
        using SegmentImage image = SegmentImage.Open(directory, index);
        return image.Header();
    }

    /// <summary>
    /// The frame of segment <paramref name="index"/> of <paramref name="directory"/> once it is
    /// closed (it has a valid summary); null while it is not.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The segment is in neither a plain nor a compressed file.</exception>
    /// <exception cref="WalFormatException">The file's header is not a valid header of that segment.</exception>
    public static SegmentFrame? TryReadClosed(string directory, long index)
    {
        using SegmentImage image = SegmentImage.Open(directory, index);
        byte[] header = image.Header();
        byte[] summaryBytes = new byte[SegmentFormat.SummarySize];
        if (image.Read(summaryBytes, SegmentFormat.SummaryOffset) != summaryBytes.Length
            || SegmentSummary.TryRead(summaryBytes, out _) is not { } summary)
        {
            return null;
        }

        var strays = new List<SegmentBytes>();
        image.FindStrays(SegmentFormat.HeaderSize, SegmentFormat.SummaryOffset, strays);
        image.FindStrays(SegmentFormat.SummaryOffset + SegmentFormat.SummarySize, Math.Min(SegmentFormat.DataOffset, image.Length), strays);
        image.FindStrays(Math.Max(summary.DataEnd, SegmentFormat.DataOffset), image.Length, strays);
        return new SegmentFrame(index, header, summary, summaryBytes, image.Length, strays);
    }

    /// <summary>A segment's bytes, from its plain file or from the segment a container holds.</summary>
    private sealed class SegmentImage : IDisposable
    {
        private readonly string _path;
        private readonly long _index;
        private readonly FileStream? _file;
        private readonly byte[]? _bytes;
        private byte[]? _chunk;

        private SegmentImage(string path, long index, FileStream? file, byte[]? bytes)
        {
            _path = path;
            _index = index;
            _file = file;
            _bytes = bytes;
            Length = file?.Length ?? bytes!.Length;
        }

        public long Length { get; }

        public static SegmentImage Open(string directory, long index)
        {
            string path = SegmentLocator.Find(directory, index) ?? throw new WalPathNotFoundException(SegmentLocator.PlainPath(directory, index));
            if (!SegmentLocator.IsCompressed(path))
            {
                return new SegmentImage(path, index, WalFileErrors.OpenRead(path), null);
            }

            return CompressedSegment.TryDecompress(path, out byte[]? segment, out Finding? problem)
                ? new SegmentImage(path, index, null, segment)
                : throw new WalFormatException($"'{path}' cannot be read as a compressed segment: {problem?.Message}", path);
        }

        public int Read(Span<byte> destination, long offset)
        {
            if (_file is not null)
            {
                return RandomAccess.Read(_file.SafeFileHandle, destination, offset);
            }

            if (offset >= _bytes!.Length)
            {
                return 0;
            }

            int count = (int)Math.Min(destination.Length, _bytes.Length - offset);
            _bytes.AsSpan((int)offset, count).CopyTo(destination);
            return count;
        }

        public byte[] Header()
        {
            byte[] header = new byte[SegmentFormat.HeaderSize];
            if (Read(header, 0) != header.Length || !header.AsSpan(0, SegmentFormat.Magic.Length).SequenceEqual(SegmentFormat.Magic)
                || SegmentHeader.StoredCrc(header) != SegmentHeader.ComputeCrc(header))
            {
                throw new WalFormatException($"'{_path}' does not start with a valid segment header.", _path);
            }

            long held = SegmentHeader.Read(header).SegmentIndex;
            return held == _index ? header : throw new WalFormatException($"'{_path}' holds segment {held}, not segment {_index}.", _path);
        }

        /// <summary>Adds every run of bytes that are not zero in [from, to) to <paramref name="strays"/>, runs closer than 64 zeros joined.</summary>
        public void FindStrays(long from, long to, List<SegmentBytes> strays)
        {
            byte[] buffer = _chunk ??= new byte[Chunk]; // one for the three ranges of a frame
            long runStart = -1;
            long runEnd = -1;
            for (long at = from; at < to;)
            {
                int read = Read(buffer.AsSpan(0, (int)Math.Min(Chunk, to - at)), at);
                if (read <= 0)
                {
                    break;
                }

                ReadOnlySpan<byte> piece = buffer.AsSpan(0, read);
                for (int i = piece.IndexOfAnyExcept((byte)0); i >= 0;)
                {
                    long position = at + i;
                    if (runStart >= 0 && position - runEnd > 64)
                    {
                        strays.Add(Take(runStart, runEnd));
                        runStart = -1;
                    }

                    if (runStart < 0)
                    {
                        runStart = position;
                    }

                    int zero = piece[i..].IndexOf((byte)0);
                    int end = zero < 0 ? read : i + zero;
                    runEnd = at + end;
                    int next = end < read ? piece[end..].IndexOfAnyExcept((byte)0) : -1;
                    i = next < 0 ? -1 : end + next;
                }

                at += read;
            }

            if (runStart >= 0)
            {
                strays.Add(Take(runStart, runEnd));
            }
        }

        private SegmentBytes Take(long from, long to)
        {
            byte[] bytes = new byte[to - from];
            Read(bytes, from);
            return new SegmentBytes(from, bytes);
        }

        public void Dispose() => _file?.Dispose();
    }
}
