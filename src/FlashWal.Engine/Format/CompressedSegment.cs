using System.Buffers.Binary;
using System.IO.Compression;
using FlashWal.Errors;

namespace FlashWal.Format;

/// <summary>
/// The container of a compressed (cold) segment, <c>{index:016x}.walz</c>: a 128-byte header that
/// carries the original segment's length, CRC-32C and summary, then the whole segment file
/// compressed with Brotli (quality 1, chosen by measurement: see docs/PERFORMANCE.md). Readers
/// decompress it and read the segment exactly as if it were plain.
/// </summary>
internal static class CompressedSegment
{
    /// <summary>The file name extension.</summary>
    public const string Extension = ".walz";

    /// <summary>The container's header size.</summary>
    public const int HeaderSize = 128;

    /// <summary>The container format version.</summary>
    public const ushort Version = 1;

    /// <summary>Codec id of Brotli.</summary>
    public const byte CodecBrotli = 1;

    /// <summary>The first eight bytes: ASCII "FLASHWLZ".</summary>
    public static ReadOnlySpan<byte> Magic => "FLASHWLZ"u8;

    internal const int OffVersion = 8;
    internal const int OffHeaderSize = 10;
    internal const int OffCodec = 12;
    internal const int OffSegmentIndex = 16;
    internal const int OffOriginalLength = 24;
    internal const int OffOriginalCrc = 32;
    internal const int OffCompressedCrc = 36;
    internal const int OffCompressedLength = 40;
    internal const int OffSummary = 48;
    internal const int OffCrc = 124;

    /// <summary>The container file name of segment <paramref name="index"/>.</summary>
    public static string FileName(long index) => index.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + Extension;

    /// <summary>
    /// Compresses the closed segment at <paramref name="segmentPath"/> into its container (temporary
    /// file, flush, rename, directory flush), checks the container by decompressing it, and only then
    /// deletes the original. Returns the container's path. On any failure the original stays.
    /// </summary>
    /// <exception cref="WalException">The segment is not closed, or the container did not verify.</exception>
    public static string Compress(string segmentPath) => Compress(segmentPath, Storage.Disk.Real);

    /// <summary>Compresses through <paramref name="disk"/> (see <see cref="Compress(string)"/>).</summary>
    internal static string Compress(string segmentPath, Storage.Disk disk)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(segmentPath))!;
        if (!SegmentFileName.TryParse(Path.GetFileName(segmentPath), out long index))
        {
            throw new WalException($"'{segmentPath}' is not a segment file name.", segmentPath);
        }

        byte[] original = File.ReadAllBytes(segmentPath);
        if (original.Length < SegmentFormat.SummaryOffset + SegmentFormat.SummarySize
            || SegmentFile.ReadSummary(segmentPath) is null)
        {
            throw new WalException($"'{segmentPath}' is not closed; only closed segments are compressed.", segmentPath);
        }

        byte[] packed = new byte[BrotliEncoder.GetMaxCompressedLength(original.Length)];
        if (!BrotliEncoder.TryCompress(original, packed, out int packedLength, quality: 1, window: 22))
        {
            throw new WalException($"Brotli could not compress '{segmentPath}'; the original is kept.", segmentPath);
        }

        ReadOnlySpan<byte> data = packed.AsSpan(0, packedLength);
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[OffVersion..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[OffHeaderSize..], HeaderSize);
        header[OffCodec] = CodecBrotli;
        BinaryPrimitives.WriteUInt64LittleEndian(header[OffSegmentIndex..], (ulong)index);
        BinaryPrimitives.WriteUInt64LittleEndian(header[OffOriginalLength..], (ulong)original.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[OffOriginalCrc..], Crc32C.Compute(original));
        BinaryPrimitives.WriteUInt32LittleEndian(header[OffCompressedCrc..], Crc32C.Compute(data));
        BinaryPrimitives.WriteUInt64LittleEndian(header[OffCompressedLength..], (ulong)data.Length);
        original.AsSpan(SegmentFormat.SummaryOffset, SegmentFormat.SummarySize).CopyTo(header[OffSummary..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[OffCrc..], Crc32C.Compute(header[..OffCrc]));

        string target = Path.Combine(directory, FileName(index));
        string temporary = target + ".tmp";
        disk.Delete(temporary);
        using (FileStream stream = disk.CreateNew(temporary, HeaderSize + data.Length))
        {
            disk.Write(stream, header, 0);
            disk.Write(stream, data, HeaderSize);
            disk.Sync(stream, temporary);
        }

        // The container is durable under its name before the original goes (FORMAT.md §17).
        disk.Rename(temporary, target, replace: true);
        disk.SyncDirectory(directory);
        if (!TryDecompress(target, out byte[]? check, out Finding? problem) || !check.AsSpan().SequenceEqual(original))
        {
            disk.Delete(target);
            disk.SyncDirectory(directory);
            throw new WalException($"The compressed copy of '{segmentPath}' did not verify ({problem?.Message ?? "content differs"}); the original is kept.", segmentPath);
        }

        disk.Delete(segmentPath);
        disk.SyncDirectory(directory);
        return target;
    }

    /// <summary>
    /// Reads a container and returns the original segment bytes, or false with a finding that says
    /// what is wrong (header, lengths, CRCs, codec). Never throws for damaged content.
    /// </summary>
    /// <exception cref="Errors.WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="Errors.WalNotAFileException">The path is a directory.</exception>
    /// <exception cref="Errors.WalAccessDeniedException">The file may not be read.</exception>
    public static bool TryDecompress(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? segment, out Finding? problem)
    {
        segment = null;
        problem = null;
        byte[] file = Errors.WalFileErrors.ReadAllBytes(path);
        Finding Bad(long offset, string message, string? expected = null, string? found = null) =>
            new(FindingSeverity.Damage, FindingCode.CompressedSegmentCorrupt, path, offset, -1, message, expected, found);

        int magicLength = Math.Min(file.Length, Magic.Length);
        if (file.Length == 0)
        {
            problem = new Finding(FindingSeverity.Damage, FindingCode.FileEmpty, path, 0, -1, "the file is empty; a FlashWal compressed segment starts with a 128-byte header");
            return false;
        }

        if (!file.AsSpan(0, magicLength).SequenceEqual(Magic[..magicLength]))
        {
            // Like a plain file without "FLASHWAL": not a FlashWal file at all, rather than a damaged one.
            problem = new Finding(FindingSeverity.Damage, FindingCode.NotASegment, path, 0, -1,
                "not a FlashWal compressed segment: the file does not start with \"FLASHWLZ\"", Convert.ToHexString(Magic), Convert.ToHexString(file.AsSpan(0, magicLength)));
            return false;
        }

        if (file.Length < HeaderSize)
        {
            problem = Bad(file.Length, "the file ends inside the 128-byte container header",
                HeaderSize.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes at least", file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes");
            return false;
        }

        ReadOnlySpan<byte> header = file.AsSpan(0, HeaderSize);
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[OffCrc..]);
        uint headerCrc = Crc32C.Compute(header[..OffCrc]);
        if (storedCrc != headerCrc)
        {
            problem = Bad(OffCrc, "the container header's CRC does not match its bytes [0, 124)", Hex.Of(storedCrc), Hex.Of(headerCrc));
            return false;
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[OffVersion..]);
        if (version != Version || header[OffCodec] != CodecBrotli)
        {
            problem = new Finding(FindingSeverity.Error, FindingCode.UnsupportedVersion, path, OffVersion, -1,
                $"container version {version} with codec {header[OffCodec]}; this build reads version 1 with codec 1 (Brotli)");
            return false;
        }

        long compressedLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[OffCompressedLength..]);
        long originalLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[OffOriginalLength..]);
        if (compressedLength != file.Length - HeaderSize || originalLength > SegmentFormat.MaxSegmentSize || originalLength > int.MaxValue)
        {
            problem = Bad(OffCompressedLength, "the compressed data does not have the length the header gives", (compressedLength + HeaderSize).ToString(System.Globalization.CultureInfo.InvariantCulture), file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return false;
        }

        ReadOnlySpan<byte> data = file.AsSpan(HeaderSize);
        uint storedDataCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[OffCompressedCrc..]);
        uint dataCrc = Crc32C.Compute(data);
        if (storedDataCrc != dataCrc)
        {
            problem = Bad(HeaderSize, $"the CRC of the compressed bytes [{HeaderSize}, {file.Length}) does not match the header", Hex.Of(storedDataCrc), Hex.Of(dataCrc));
            return false;
        }

        byte[] original = new byte[originalLength];
        if (!BrotliDecoder.TryDecompress(data, original, out int written) || written != originalLength)
        {
            problem = Bad(HeaderSize, "the compressed data does not decompress to the original length the header gives");
            return false;
        }

        uint storedOriginalCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[OffOriginalCrc..]);
        uint originalCrc = Crc32C.Compute(original);
        if (storedOriginalCrc != originalCrc)
        {
            problem = Bad(OffOriginalCrc, "the decompressed segment's CRC does not match the header", Hex.Of(storedOriginalCrc), Hex.Of(originalCrc));
            return false;
        }

        segment = original;
        return true;
    }

    /// <summary>The copy of the segment's summary in a container header, when the header is valid.</summary>
    internal static SegmentSummary? ReadSummary(string path)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        using FileStream stream = Errors.WalFileErrors.OpenRead(path);
        if (RandomAccess.Read(stream.SafeFileHandle, header, 0) != HeaderSize || !header[..8].SequenceEqual(Magic)
            || BinaryPrimitives.ReadUInt32LittleEndian(header[OffCrc..]) != Crc32C.Compute(header[..OffCrc]))
        {
            return null;
        }

        return SegmentSummary.TryRead(header.Slice(OffSummary, SegmentFormat.SummarySize), out _);
    }
}
