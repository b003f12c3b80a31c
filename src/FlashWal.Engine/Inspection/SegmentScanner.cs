using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Walks one mapped segment and decides, byte by byte, what is valid: the one place where FlashWal
/// judges a segment. <see cref="Reading.SegmentReader"/> reads the valid prefix it finds;
/// <see cref="SegmentVerifier"/> adds the checks that need several segments.
/// </summary>
/// <remarks>
/// End of data versus damage: every block is sealed by writing its header after its records, so a
/// crash can leave, after the last sealed block, only an incomplete header followed by unsealed
/// records. Hence, in a segment that was never closed: all zeros after the last valid block is a
/// clean end; non-zero bytes there with no valid block header anywhere after them is a torn tail;
/// a valid block header after them, or a block whose header is valid but whose content is not, is
/// damage. In a closed segment the summary states where the data ends, and anything else is damage.
/// </remarks>
internal static unsafe class SegmentScanner
{
    /// <summary>Scans <paramref name="length"/> mapped bytes of the file at <paramref name="path"/>.</summary>
    public static SegmentScan Scan(string path, byte* data, long length)
    {
        var scan = new SegmentScan(path, length);
        if (SegmentFileName.TryParseAny(System.IO.Path.GetFileName(path), out long nameIndex, out _))
        {
            scan.SegmentIndex = nameIndex;
        }

        if (!ScanHeader(scan, data, length, out SegmentHeader header))
        {
            scan.State = SegmentState.Unreadable;
            scan.NeverWritten = length == 0 || FirstNonZero(data, 0, length) < 0;
            scan.HeaderNeverWritten = !scan.NeverWritten && length >= SegmentFormat.HeaderSize && FirstNonZero(data, 0, SegmentFormat.HeaderSize) < 0;
            if (scan.HeaderNeverWritten)
            {
                // Its header page never reached the disk, but later pages did: how far did its writes go?
                for (long at = FindBlockHeader(data, SegmentFormat.DataOffset, length); at >= 0; at = FindBlockHeader(data, at + SegmentFormat.BlockAlignment, length))
                {
                    long last = BlockHeader.Read(new ReadOnlySpan<byte>(data + at, SegmentFormat.BlockHeaderSize)).LastEventId;
                    scan.LaterBlockLastEventId = Math.Max(scan.LaterBlockLastEventId ?? 0, last);
                }
            }

            return scan;
        }

        scan.Header = header;
        if (nameIndex >= 0 && nameIndex != header.SegmentIndex)
        {
            scan.Add(NameMismatch(path, nameIndex, header.SegmentIndex));
        }

        scan.SegmentIndex = header.SegmentIndex;
        long limit = Math.Min(length, header.Capacity);
        bool summaryCorrupt = CheckBeforeBlocks(scan, data, length, header, judgeSummary: true);

        // A closed segment's summary says where its data ends: the walk stops there, and any byte
        // after it is judged as "data after end" at its exact offset.
        long walkLimit = scan.Summary is { } closed ? Math.Min(Math.Max(closed.DataEnd, SegmentFormat.DataOffset), limit) : limit;
        BlockFailure? failure = WalkBlocks(scan, data, length, walkLimit, header, resume: false);
        if (scan.Summary is { } summary)
        {
            ClassifyClosed(scan, data, limit, summary, failure);
        }
        else
        {
            // A live segment: the recorder may seal the block at the end of the valid prefix (and later
            // ones) while it is walked or classified, so that a later block seems to follow lost ones.
            // The walk goes on from there, as long as it gets further, before they are called lost: the
            // recorder sealed the block at the prefix's end before the later one, so a live segment
            // always gets further, while blocks a crash really lost still fail.
            bool mayWalkOn = true;
            while (!ClassifyOpen(scan, data, limit, failure, summaryCorrupt, mayWalkOn))
            {
                long validEnd = scan.ValidEnd;
                failure = WalkBlocks(scan, data, length, walkLimit, header, resume: true);
                mayWalkOn = scan.ValidEnd > validEnd;
            }
        }

        if (scan.HasDamage && scan.State != SegmentState.Unreadable)
        {
            scan.State = SegmentState.Damaged;
        }

        return scan;
    }

    /// <summary>Opens, maps and scans a file, then unmaps it. Never throws for damaged content; I/O errors become an <see cref="FindingCode.IoError"/> finding.</summary>
    public static SegmentScan ScanFile(string path) => ScanFile(path, salvage: false);

    /// <summary>
    /// <see cref="ScanFile(string)"/>; with <paramref name="salvage"/>, a damaged segment whose header
    /// reads is also searched, on the same mapping, for the blocks after its damage that verify on
    /// their own (<see cref="Salvage"/>), as a salvage reader would serve them.
    /// </summary>
    public static SegmentScan ScanFile(string path, bool salvage)
    {
        try
        {
            if (SegmentLocator.IsCompressed(path))
            {
                return ScanCompressed(path, salvage);
            }

            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                return Scan(path, null, 0);
            }

            using var mapped = Storage.MappedFile.Map(stream, length, writable: false);
            return ScanAndSalvage(path, mapped.Pointer, length, salvage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.WalException)
        {
            // WalException: what a compressed container's read reports (WalFileErrors), never damage.
            var scan = new SegmentScan(path, -1) { State = SegmentState.Unreadable, ReadError = e };
            if (SegmentFileName.TryParseAny(System.IO.Path.GetFileName(path), out long index, out _))
            {
                scan.SegmentIndex = index; // where it belongs in the log: unreadable, not missing
            }

            scan.Add(FindingSeverity.Error, FindingCode.IoError, -1, -1, $"cannot read the file: {e.Message}");
            return scan;
        }
    }

    /// <summary>
    /// Scans <paramref name="path"/> (quickly, like <see cref="ScanQuick"/>, or fully); when the file
    /// is gone, its compressed container: on a live log, compression replaced the segment since it was
    /// listed (the container is complete before the original is deleted).
    /// </summary>
    internal static SegmentScan ScanCurrent(string path, bool quick)
    {
        SegmentScan scan = quick ? ScanQuick(path) : ScanFile(path);
        return IsVanished(scan) && SegmentLocator.CompressedSince(path) is { } compressed ? ScanFile(compressed) : scan;
    }

    /// <summary>The file could not be read because it no longer exists (deleted since it was listed).</summary>
    internal static bool IsVanished(SegmentScan scan) =>
        scan.State == SegmentState.Unreadable && scan.FileLength < 0 && !File.Exists(scan.Path);

    /// <summary>
    /// The cheap look a catalog needs: header, summary and block 0's header, a few kilobytes read. A
    /// closed segment whose summary is valid and whose file has its full length is described from the
    /// summary (<see cref="SegmentScan.IsQuick"/>); every other file (open, torn, compressed, damaged,
    /// unreadable) gets the full <see cref="ScanFile(string)"/>, normally only the last segment of a log.
    /// </summary>
    public static SegmentScan ScanQuick(string path)
    {
        if (SegmentLocator.IsCompressed(path))
        {
            return ScanFile(path);
        }

        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long length = RandomAccess.GetLength(handle);
            const int Prefix = SegmentFormat.DataOffset + SegmentFormat.BlockHeaderSize;
            byte[] buffer = new byte[Prefix];
            int read = length < Prefix ? 0 : RandomAccess.Read(handle, buffer, 0);
            if (read == Prefix)
            {
                var scan = new SegmentScan(path, length);
                fixed (byte* data = buffer)
                {
                    if (ScanHeader(scan, data, read, out SegmentHeader header) && !ScanSummary(scan, data, read)
                        && scan.Summary is { } summary && length == header.Capacity && scan.Findings.Count == 0
                        && SegmentFileName.TryParseAny(System.IO.Path.GetFileName(path), out long nameIndex, out _) && nameIndex == header.SegmentIndex)
                    {
                        scan.Header = header;
                        scan.SegmentIndex = header.SegmentIndex;
                        scan.State = SegmentState.Closed;
                        scan.IsQuick = true;
                        scan.ValidEnd = summary.DataEnd;
                        scan.RecordCount = summary.RecordCount;
                        scan.FirstEventId = summary.FirstEventId;
                        scan.LastEventId = summary.LastEventId;
                        scan.FinalChain = summary.FinalChain;
                        var block0 = new ReadOnlySpan<byte>(data + SegmentFormat.DataOffset, SegmentFormat.BlockHeaderSize);
                        if (summary.BlockCount > 0 && BlockHeader.StoredMagic(block0) == SegmentFormat.BlockMagic && BlockHeader.StoredCrc(block0) == BlockHeader.ComputeCrc(block0))
                        {
                            scan.ChainSeed = BlockHeader.Read(block0).ChainSeed;
                            return scan;
                        }

                        if (summary.BlockCount == 0)
                        {
                            return scan;
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the full scan reports it
        }

        return ScanFile(path);
    }

    /// <summary>
    /// After the valid prefix of a damaged segment, finds every later block that verifies on its own
    /// and groups them into runs of consecutive blocks (<see cref="SegmentScan.SalvagedRuns"/>), each
    /// with the damage that precedes it. A block is accepted only with a later index and later event ids
    /// than everything before it, so a payload that merely looks like a block header is never replayed.
    /// </summary>
    public static void Salvage(SegmentScan scan, byte* data, long length)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Header is not { } header || scan.State != SegmentState.Damaged || data == null)
        {
            return;
        }

        long limit = DataLimit(scan, header, length);
        var runs = new List<SalvagedRun>();
        List<long>? current = null;
        int runFirstIndex = 0;
        long runFirstId = 0;
        int lastIndex = scan.BlockOffsets.Count - 1;
        long lastId = scan.LastEventId;
        uint? chain = null;
        long lostFrom = scan.ValidEnd;
        Finding? pendingDamage = null;
        for (long at = scan.ValidEnd + SegmentFormat.BlockAlignment; ;)
        {
            at = FindBlockHeader(data, at, limit);
            if (at < 0)
            {
                break;
            }

            BlockHeader candidate = BlockHeader.Read(new ReadOnlySpan<byte>(data + at, SegmentFormat.BlockHeaderSize));
            bool contiguous = current is not null && candidate.BlockIndex == lastIndex + 1;
            if (candidate.BlockIndex <= lastIndex || candidate.FirstEventId <= lastId
                || CheckBlock(scan, data, length, at, candidate.BlockIndex, header, contiguous ? chain : null, lastId, out BlockHeader block) is not null)
            {
                at += SegmentFormat.BlockAlignment;
                continue;
            }

            if (!contiguous)
            {
                Close();
                current = [];
                runFirstIndex = block.BlockIndex;
                runFirstId = block.FirstEventId;
                pendingDamage = runs.Count == 0 && scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage) is { } first
                    ? first
                    : new Finding(FindingSeverity.Damage, FindingCode.BlocksLost, scan.Path, lostFrom, lastIndex + 1,
                        $"blocks {lastIndex + 1} to {block.BlockIndex - 1} between offsets {lostFrom} and {at} do not verify: their events are lost",
                        $"block {lastIndex + 1} at {lostFrom}", $"block {block.BlockIndex} at {at}");
            }

            current!.Add(at);
            lastIndex = block.BlockIndex;
            lastId = block.LastEventId;
            chain = block.ChainCrc;
            at += block.Length;
            lostFrom = at;
        }

        Close();
        scan.SalvagedRuns = runs;

        void Close()
        {
            if (current is { Count: > 0 })
            {
                runs.Add(new SalvagedRun(pendingDamage!, current, runFirstIndex, runFirstId, lastId) { FinalChain = chain!.Value });
            }
        }
    }

    /// <summary>The damage of a segment file named for index <paramref name="named"/> whose header holds <paramref name="held"/> (every reader's wording).</summary>
    internal static Finding NameMismatch(string path, long named, long held) =>
        new(FindingSeverity.Damage, FindingCode.SegmentNameMismatch, path, SegmentHeader.OffSegmentIndex, -1,
            "the file name and the header disagree on the segment index", Hex.Of(named), Hex.Of(held));

    /// <summary>Where blocks can end in a segment of <paramref name="length"/> bytes: its capacity, and a valid summary's data end.</summary>
    private static long DataLimit(SegmentScan scan, SegmentHeader header, long length) =>
        scan.Summary is { } summary && summary.DataEnd >= SegmentFormat.DataOffset
            ? Math.Min(Math.Min(length, header.Capacity), summary.DataEnd)
            : Math.Min(length, header.Capacity);

    /// <summary>A compressed segment: its container is checked, then the original bytes are judged like any segment.</summary>
    private static SegmentScan ScanCompressed(string path, bool salvage)
    {
        if (!CompressedSegment.TryDecompress(path, out byte[]? segment, out Finding? problem))
        {
            var scan = new SegmentScan(path, new FileInfo(path).Length) { State = SegmentState.Unreadable };
            if (SegmentFileName.TryParseAny(System.IO.Path.GetFileName(path), out long index, out _))
            {
                scan.SegmentIndex = index;
            }

            scan.Add(problem!);
            return scan;
        }

        fixed (byte* data = segment)
        {
            return ScanAndSalvage(path, data, segment.Length, salvage);
        }
    }

    private static SegmentScan ScanAndSalvage(string path, byte* data, long length, bool salvage)
    {
        SegmentScan scan = Scan(path, data, length);
        if (salvage)
        {
            Salvage(scan, data, length);
        }

        return scan;
    }

    private static bool ScanHeader(SegmentScan scan, byte* data, long length, out SegmentHeader header)
    {
        header = default;
        if (length == 0)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.FileEmpty, 0, -1, "the file is empty; a FlashWal segment starts with a 128-byte header");
            return false;
        }

        var bytes = new ReadOnlySpan<byte>(data, (int)Math.Min(length, SegmentFormat.HeaderSize));
        int magicLength = Math.Min(bytes.Length, SegmentFormat.Magic.Length);
        if (!bytes[..magicLength].SequenceEqual(SegmentFormat.Magic[..magicLength]))
        {
            scan.Add(FindingSeverity.Damage, FindingCode.NotASegment, 0, -1, "the file does not start with \"FLASHWAL\"",
                "46 4C 41 53 48 57 41 4C", Convert.ToHexString(bytes[..magicLength]));
            return false;
        }

        if (length < SegmentFormat.HeaderSize)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.FileTooShort, length, -1, "the file ends inside the segment header",
                SegmentFormat.HeaderSize.ToString(CultureInfo.InvariantCulture) + " bytes at least", length.ToString(CultureInfo.InvariantCulture) + " bytes");
            return false;
        }

        header = SegmentHeader.Read(bytes);
        uint stored = SegmentHeader.StoredCrc(bytes);
        uint computed = SegmentHeader.ComputeCrc(bytes);
        if (header.Version > SegmentFormat.Version && NewerHeaderIsIntact(data, length))
        {
            scan.Add(FindingSeverity.Error, FindingCode.UnsupportedVersion, SegmentHeader.OffVersion, -1,
                $"written by FlashWal format version {header.Version}; this build reads versions up to {SegmentFormat.Version}",
                "<= " + SegmentFormat.Version.ToString(CultureInfo.InvariantCulture), header.Version.ToString(CultureInfo.InvariantCulture));
            return false;
        }

        if (stored != computed)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.HeaderChecksumMismatch, SegmentHeader.OffCrc, -1,
                "the segment header's CRC does not match its bytes [0, 124)", Hex.Of(stored), Hex.Of(computed));
            return false;
        }

        string? problem = null;
        long offset = 0;
        string? expected = null;
        string? found = null;
        ushort headerSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[SegmentHeader.OffHeaderSize..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(bytes[SegmentHeader.OffFlags..]);
        if (header.Version != SegmentFormat.Version)
        {
            (problem, offset, expected, found) = ("unknown format version", SegmentHeader.OffVersion, "1", header.Version.ToString(CultureInfo.InvariantCulture));
        }
        else if (headerSize != SegmentFormat.HeaderSize)
        {
            (problem, offset, expected, found) = ("wrong header size", SegmentHeader.OffHeaderSize, "128", headerSize.ToString(CultureInfo.InvariantCulture));
        }
        else if (flags != 0)
        {
            (problem, offset, expected, found) = ("unknown header flags", SegmentHeader.OffFlags, "0", Hex.Of(flags));
        }
        else if (header.BlockSize < SegmentFormat.MinBlockSize || header.BlockSize > SegmentFormat.MaxBlockSize || (header.BlockSize & (header.BlockSize - 1)) != 0)
        {
            (problem, offset, expected, found) = ("block size out of range", SegmentHeader.OffBlockSize, "a power of two from 4096 to 16777216", header.BlockSize.ToString(CultureInfo.InvariantCulture));
        }
        else if (header.DataOffset != SegmentFormat.DataOffset)
        {
            (problem, offset, expected, found) = ("wrong data offset", SegmentHeader.OffDataOffset, "4096", header.DataOffset.ToString(CultureInfo.InvariantCulture));
        }
        else if (header.Capacity % SegmentFormat.PageSize != 0 || header.Capacity < SegmentFormat.DataOffset + (long)header.BlockSize || header.Capacity > SegmentFormat.MaxSegmentSize)
        {
            (problem, offset, expected, found) = ("capacity out of range", SegmentHeader.OffCapacity, "a multiple of 4096 holding at least one block", header.Capacity.ToString(CultureInfo.InvariantCulture));
        }
        else if (header.SegmentIndex < 0)
        {
            (problem, offset, expected, found) = ("segment index out of range", SegmentHeader.OffSegmentIndex, "< 2^63", Hex.Of(header.SegmentIndex));
        }
        else if (bytes[SegmentHeader.OffReserved..SegmentHeader.OffCrc].IndexOfAnyExcept((byte)0) is int r && r >= 0)
        {
            (problem, offset, expected, found) = ("reserved header bytes are not zero", SegmentHeader.OffReserved + r, "0", "non-zero");
        }

        if (problem is not null)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.HeaderInvalid, offset, -1, "segment header: " + problem, expected, found);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Every format version keeps bytes 0–11 (magic, version, header size) and ends its header with a
    /// CRC-32C of the bytes before it, so a newer header can be told from a damaged one.
    /// </summary>
    private static bool NewerHeaderIsIntact(byte* data, long length)
    {
        int size = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(data + SegmentHeader.OffHeaderSize, 2));
        if (size < SegmentFormat.HeaderSize || size > SegmentFormat.SummaryOffset || size > length)
        {
            return false;
        }

        var bytes = new ReadOnlySpan<byte>(data, size);
        return Crc32C.Compute(bytes[..(size - 4)]) == BinaryPrimitives.ReadUInt32LittleEndian(bytes[(size - 4)..]);
    }

    /// <summary>
    /// The checks of a segment file with a valid header that come before its blocks, in this order
    /// (FORMAT.md §18.4 steps 8 to 10): reserved header bytes, the summary (read into the scan when
    /// valid; judged only when <paramref name="judgeSummary"/>), the file's length against the capacity.
    /// </summary>
    /// <returns>Whether the summary area holds bytes that are not a valid summary.</returns>
    private static bool CheckBeforeBlocks(SegmentScan scan, byte* data, long length, SegmentHeader header, bool judgeSummary)
    {
        CheckZeros(scan, data, SegmentFormat.HeaderSize, SegmentFormat.SummaryOffset, length);
        CheckZeros(scan, data, SegmentFormat.SummaryOffset + SegmentFormat.SummarySize, SegmentFormat.DataOffset, length);
        bool summaryCorrupt = judgeSummary && ScanSummary(scan, data, length);
        if (length < header.Capacity)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.FileTruncated, length, -1,
                "the file is shorter than the segment's capacity; data beyond the end of the file is lost",
                header.Capacity.ToString(CultureInfo.InvariantCulture) + " bytes", length.ToString(CultureInfo.InvariantCulture) + " bytes");
        }
        else if (length > header.Capacity)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.FileTooLong, header.Capacity, -1,
                "bytes follow the end of the segment's capacity",
                header.Capacity.ToString(CultureInfo.InvariantCulture) + " bytes", length.ToString(CultureInfo.InvariantCulture) + " bytes");
        }

        return summaryCorrupt;
    }

    /// <summary>
    /// For <see cref="Reading.WalTailer"/>, which judges a segment a block at a time: the first damage
    /// of <see cref="CheckBeforeBlocks"/>, which the walk reports before any block failure; null when
    /// there is none. <paramref name="judgeSummary"/>: whether a summary area that is not a valid summary
    /// is damage (at rest), or may be a summary a live recorder is writing right now.
    /// </summary>
    internal static Finding? DamageBeforeBlocks(string path, byte* data, long length, SegmentHeader header, bool judgeSummary)
    {
        var probe = new SegmentScan(path, length);
        CheckBeforeBlocks(probe, data, length, header, judgeSummary);
        return probe.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage);
    }

    /// <summary>
    /// In a closed segment whose blocks agree with its summary: the first non-zero byte after its data
    /// (up to <paramref name="limit"/>, the capacity or the file's end): damage, or information for a
    /// segment crash recovery closed (an abandoned tail). Null when only zeros follow.
    /// </summary>
    internal static Finding? AfterData(string path, byte* data, long validEnd, long limit, SegmentSummary summary)
    {
        long stray = FirstNonZero(data, validEnd, limit);
        return stray < 0 ? null
            : summary.IsRecoveredClose ? new Finding(FindingSeverity.Info, FindingCode.TornTail, path, validEnd, -1,
                "closed by crash recovery: the bytes after the data end are an abandoned tail that was never committed")
            : new Finding(FindingSeverity.Damage, FindingCode.DataAfterEnd, path, stray, -1,
                "non-zero bytes after the end of a closed segment's data", "0", Hex.Of(data[stray]));
    }

    /// <returns>Whether the summary area holds bytes that are not a valid summary.</returns>
    private static bool ScanSummary(SegmentScan scan, byte* data, long length)
    {
        if (length < SegmentFormat.SummaryOffset + SegmentFormat.SummarySize)
        {
            return false;
        }

        var bytes = new ReadOnlySpan<byte>(data + SegmentFormat.SummaryOffset, SegmentFormat.SummarySize);
        if (bytes.IndexOfAnyExcept((byte)0) < 0)
        {
            return false;
        }

        if (SegmentSummary.TryRead(bytes, out var problem) is { } summary)
        {
            scan.Summary = summary;
            return false;
        }

        (int offset, string message, string expected, string found) = problem!.Value;
        scan.Add(FindingSeverity.Damage, FindingCode.SummaryCorrupt, SegmentFormat.SummaryOffset + offset, -1, message, expected, found);
        return true;
    }

    private static void CheckZeros(SegmentScan scan, byte* data, long from, long to, long length)
    {
        to = Math.Min(to, length);
        long at = FirstNonZero(data, from, to);
        if (at >= 0)
        {
            scan.Add(FindingSeverity.Damage, FindingCode.ReservedBytesNotZero, at, -1,
                $"bytes [{from}, {to}) are reserved and must be zero", "0", Hex.Of(data[at]));
        }
    }

    private sealed record BlockFailure(Finding Finding, bool HeaderIncomplete);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per segment: tiering would run a whole recovery's walks at tier 0
    private static BlockFailure? WalkBlocks(SegmentScan scan, byte* data, long length, long limit, SegmentHeader header, bool resume)
    {
        // Resuming goes on from the end of the valid prefix an earlier walk of this scan found.
        long position = resume ? scan.ValidEnd : SegmentFormat.DataOffset;
        int index = resume ? scan.BlockOffsets.Count : 0;
        uint chain = resume ? scan.FinalChain ?? 0 : 0;
        long previousId = resume ? scan.LastEventId : 0;
        while (position + SegmentFormat.BlockHeaderSize <= limit)
        {
            var bytes = new ReadOnlySpan<byte>(data + position, SegmentFormat.BlockHeaderSize);
            if (bytes.IndexOfAnyExcept((byte)0) < 0)
            {
                break; // end of data
            }

            BlockFailure? failure = CheckBlock(scan, data, length, position, index, header, index == 0 ? null : chain, previousId, out BlockHeader block);
            if (failure is not null)
            {
                scan.ValidEnd = position;
                return failure;
            }

            if (index == 0)
            {
                scan.ChainSeed = block.ChainSeed;
                scan.FirstEventId = block.FirstEventId;
            }

            scan.AddBlock(position);
            scan.RecordCount += block.RecordCount;
            scan.LastEventId = block.LastEventId;
            chain = block.ChainCrc;
            scan.FinalChain = chain;
            previousId = block.LastEventId;
            position += block.Length;
            index++;
        }

        scan.ValidEnd = position;
        if (!resume && header.SegmentIndex == 0 && scan.ChainSeed is uint seed && seed != SegmentFormat.GenesisChainSeed(header.LogId))
        {
            scan.Add(SegmentLink.GenesisSeedWrong(scan.Path, SegmentFormat.GenesisChainSeed(header.LogId), seed));
        }

        return null;
    }

    /// <summary>
    /// Reads and judges the segment header at <paramref name="data"/> with the scan's rules, for a
    /// reader that follows a live segment and so cannot scan the whole file once. On success the
    /// header is recorded in <paramref name="scan"/>; otherwise the finding says why.
    /// </summary>
    internal static bool TryReadHeader(SegmentScan scan, byte* data, long length, out SegmentHeader header)
    {
        if (!ScanHeader(scan, data, length, out header))
        {
            scan.State = SegmentState.Unreadable;
            return false;
        }

        scan.Header = header;
        scan.SegmentIndex = header.SegmentIndex;
        return true;
    }

    /// <summary>
    /// Judges the one block at <paramref name="position"/> by exactly the rules of the walk (see
    /// <c>CheckBlock</c>), for <see cref="Reading.WalTailer"/>, which meets blocks one at a time as
    /// they are sealed. Null when the block is valid; otherwise the finding. Whether a failure ends the
    /// log or is damage depends on what follows it, which only a walk of the log at rest can say.
    /// Allocates nothing when the block is valid.
    /// </summary>
    internal static Finding? CheckBlockAt(SegmentScan scan, byte* data, long length, long position, int index, SegmentHeader header,
        uint? expectedSeed, long previousId, out BlockHeader block) =>
        CheckBlock(scan, data, length, position, index, header, expectedSeed, previousId, out block)?.Finding;

    // Optimized at first call, not after tiering: a verification runs once per file, in processes
    // (recovery, the CLI, a cmdlet) that end before tiering would have finished (the same for CheckRecords).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static BlockFailure? CheckBlock(SegmentScan scan, byte* data, long length, long position, int index, SegmentHeader header,
        uint? expectedSeed, long previousId, out BlockHeader block)
    {
        // One copy of the header, taken magic first: a live file changes under a reader, and a writer
        // stores a block's magic last (SegmentWriter.WriteBlock), so what was read after a magic is what
        // the writer wrote before it, and every check below sees the same bytes.
        Span<byte> copy = stackalloc byte[SegmentFormat.BlockHeaderSize];
        _ = Volatile.Read(ref *(uint*)(data + position));
        new ReadOnlySpan<byte>(data + position, SegmentFormat.BlockHeaderSize).CopyTo(copy);
        ReadOnlySpan<byte> bytes = copy;
        block = BlockHeader.Read(bytes);
        uint magic = BlockHeader.StoredMagic(bytes);
        if (magic != SegmentFormat.BlockMagic)
        {
            return Fail(FindingCode.BlockHeaderCorrupt, position, "no block magic where a block must start", Hex.Of(SegmentFormat.BlockMagic), Hex.Of(magic), headerIncomplete: true);
        }

        uint stored = BlockHeader.StoredCrc(bytes);
        uint computed = BlockHeader.ComputeCrc(bytes);
        if (stored != computed)
        {
            return Fail(FindingCode.BlockHeaderCorrupt, position + BlockHeader.OffCrc, "the block header's CRC does not match its bytes", Hex.Of(stored), Hex.Of(computed), headerIncomplete: true);
        }

        if (CheckFields(scan, bytes, block, length, position, index, header, previousId) is { } invalid)
        {
            return invalid;
        }

        if (expectedSeed is uint seed && block.ChainSeed != seed)
        {
            return Fail(FindingCode.ChainBroken, position + BlockHeader.OffChainSeed, "the block's chain seed is not the previous block's chain CRC", Hex.Of(seed), Hex.Of(block.ChainSeed));
        }

        uint chain = BlockHeader.ComputeChainCrc(block.ChainSeed, bytes);
        if (chain != block.ChainCrc)
        {
            return Fail(FindingCode.ChainBroken, position + BlockHeader.OffChainCrc, "the block's chain CRC does not match its seed and header", Hex.Of(block.ChainCrc), Hex.Of(chain));
        }

        uint dataCrc = Crc32C.Finish(Crc32C.Update(Crc32C.Begin(), data + position + SegmentFormat.BlockHeaderSize, block.Length - SegmentFormat.BlockHeaderSize));
        if (dataCrc != block.DataCrc)
        {
            return Fail(FindingCode.BlockChecksumMismatch, position + SegmentFormat.BlockHeaderSize,
                $"the CRC of the block's bytes [{position + SegmentFormat.BlockHeaderSize}, {position + block.Length}) does not match its header", Hex.Of(block.DataCrc), Hex.Of(dataCrc));
        }

        return CheckRecords(scan, data, position, index, block);

        BlockFailure Fail(FindingCode code, long offset, string message, string expected, string found, bool headerIncomplete = false) =>
            new(new Finding(FindingSeverity.Damage, code, scan.Path, offset, index, message, expected, found), headerIncomplete);
    }

    /// <summary>
    /// The block header's fields, once its CRC matched: reserved bytes zero, the length in range and
    /// inside the file, the index in place, the record count and the event ids in range and after
    /// <paramref name="previousId"/>. In this order, the first failure returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static BlockFailure? CheckFields(SegmentScan scan, ReadOnlySpan<byte> bytes, in BlockHeader block, long length, long position, int index,
        SegmentHeader header, long previousId)
    {
        if (BlockHeader.StoredReserved(bytes) != 0)
        {
            return Failure(scan, index, FindingCode.BlockHeaderInvalid, position + BlockHeader.OffReserved, "reserved block header bytes are not zero", "0", "non-zero");
        }

        int minimum = SegmentFormat.BlockHeaderSize + SegmentFormat.BlockAlignment;
        if (block.Length < minimum || block.Length > header.BlockSize || block.Length % SegmentFormat.BlockAlignment != 0 || position + block.Length > header.Capacity)
        {
            return Failure(scan, index, FindingCode.BlockHeaderInvalid, position + BlockHeader.OffLength, "block length out of range",
                $"a multiple of 64 from {minimum} to {Math.Min(header.BlockSize, header.Capacity - position)}", block.Length.ToString(CultureInfo.InvariantCulture));
        }

        if (position + block.Length > length)
        {
            // The file was cut inside this block; FileTruncated already says so.
            return new BlockFailure(new Finding(FindingSeverity.Damage, FindingCode.FileTruncated, scan.Path, length, index,
                $"the file ends inside block {index}, which starts at {position}"), HeaderIncomplete: false);
        }

        if (block.BlockIndex != index)
        {
            return Failure(scan, index, FindingCode.BlockHeaderInvalid, position + BlockHeader.OffBlockIndex, "block index out of place",
                index.ToString(CultureInfo.InvariantCulture), block.BlockIndex.ToString(CultureInfo.InvariantCulture));
        }

        int maxRecords = (block.Length - SegmentFormat.BlockHeaderSize) / SegmentFormat.RecordHeaderSize;
        if (block.RecordCount < 1 || block.RecordCount > maxRecords)
        {
            return Failure(scan, index, FindingCode.BlockHeaderInvalid, position + BlockHeader.OffRecordCount, "record count out of range",
                $"1 to {maxRecords}", block.RecordCount.ToString(CultureInfo.InvariantCulture));
        }

        if (block.FirstEventId < SegmentFormat.MinEventId || block.LastEventId < block.FirstEventId)
        {
            return Failure(scan, index, FindingCode.BlockHeaderInvalid, position + BlockHeader.OffFirstId, "first and last event ids out of range",
                "1 <= first <= last", $"first {block.FirstEventId}, last {block.LastEventId}");
        }

        if (block.FirstEventId <= previousId)
        {
            return Failure(scan, index, FindingCode.EventIdOrder, position + BlockHeader.OffFirstId, "the block's first event id does not follow the previous block's last",
                "> " + previousId.ToString(CultureInfo.InvariantCulture), block.FirstEventId.ToString(CultureInfo.InvariantCulture));
        }

        return null;
    }

    private static BlockFailure Failure(SegmentScan scan, int index, FindingCode code, long offset, string message, string expected, string found) =>
        new(new Finding(FindingSeverity.Damage, code, scan.Path, offset, index, message, expected, found), HeaderIncomplete: false);

    /// <summary>
    /// The records must tile the block exactly: each 8-aligned, ids strictly increasing from the
    /// header's first to its last, flags and padding zero, and less than 64 zero bytes after the last.
    /// (A block whose CRC matches fails here only if its writer was wrong, never from damage.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static BlockFailure? CheckRecords(SegmentScan scan, byte* data, long position, int index, BlockHeader block)
    {
        long end = position + block.Length;
        long at = position + SegmentFormat.BlockHeaderSize;
        long previous = 0;
        for (int i = 0; i < block.RecordCount; i++)
        {
            if (at + SegmentFormat.RecordHeaderSize > end)
            {
                return Fail(at, $"record {i} of {block.RecordCount} starts past the end of the block", $"<= {end - SegmentFormat.RecordHeaderSize}", at.ToString(CultureInfo.InvariantCulture));
            }

            RecordHeader record = RecordHeader.Read(new ReadOnlySpan<byte>(data + at, SegmentFormat.RecordHeaderSize));
            long size = SegmentFormat.AlignUp(SegmentFormat.RecordHeaderSize + (long)record.PayloadLength, SegmentFormat.RecordAlignment);
            if (record.PayloadLength < 0 || at + size > end)
            {
                return Fail(at + RecordHeader.OffLength, $"record {i}'s payload runs past the end of the block", $"<= {end - at - SegmentFormat.RecordHeaderSize}", ((uint)record.PayloadLength).ToString(CultureInfo.InvariantCulture));
            }

            if (record.Flags != 0)
            {
                return Fail(at + RecordHeader.OffFlags, $"record {i} has unknown flags", "0", Hex.Of(record.Flags));
            }

            long expectedId = i == 0 ? block.FirstEventId : previous + 1;
            if ((i == 0 && record.EventId != block.FirstEventId) || (i > 0 && record.EventId <= previous))
            {
                return new BlockFailure(new Finding(FindingSeverity.Damage, FindingCode.EventIdOrder, scan.Path, at + RecordHeader.OffEventId, index,
                    $"record {i}'s event id is out of order", (i == 0 ? "" : ">= ") + expectedId.ToString(CultureInfo.InvariantCulture),
                    record.EventId.ToString(CultureInfo.InvariantCulture)), HeaderIncomplete: false);
            }

            long padFrom = at + SegmentFormat.RecordHeaderSize + record.PayloadLength;
            long nonZero = FirstNonZero(data, padFrom, at + size);
            if (nonZero >= 0)
            {
                return Fail(nonZero, $"record {i}'s padding is not zero", "0", Hex.Of(data[nonZero]));
            }

            previous = record.EventId;
            at += size;
        }

        if (previous != block.LastEventId)
        {
            return new BlockFailure(new Finding(FindingSeverity.Damage, FindingCode.EventIdOrder, scan.Path, position + BlockHeader.OffLastId, index,
                "the block header's last event id is not its last record's", previous.ToString(CultureInfo.InvariantCulture),
                block.LastEventId.ToString(CultureInfo.InvariantCulture)), HeaderIncomplete: false);
        }

        if (end - at >= SegmentFormat.BlockAlignment)
        {
            return Fail(at, "bytes follow the block's last record", $"fewer than {SegmentFormat.BlockAlignment} bytes of padding", (end - at).ToString(CultureInfo.InvariantCulture) + " bytes");
        }

        long stray = FirstNonZero(data, at, end);
        return stray >= 0 ? Fail(stray, "the block's padding after its last record is not zero", "0", Hex.Of(data[stray])) : null;

        BlockFailure Fail(long offset, string message, string expected, string found) =>
            new(new Finding(FindingSeverity.Damage, FindingCode.RecordInvalid, scan.Path, offset, index, message, expected, found), HeaderIncomplete: false);
    }

    /// <summary>
    /// The first field in which a valid summary disagrees with the blocks read before its data end, in
    /// this order: data end, block count, event count, event ids, final chain (when there are blocks);
    /// null when it agrees. When the blocks stop before the summary's data end (zeroed blocks), the
    /// finding points where the data stops, not at the summary. The one summary check: the scanner's
    /// walk and <see cref="Reading.WalTailer"/>, which reads a segment a block at a time, both make it.
    /// </summary>
    internal static Finding? SummaryDisagrees(string path, SegmentSummary summary, long validEnd, int blocks, long records, long firstId, long lastId, uint? finalChain)
    {
        (string Field, int Offset, string Expected, string Found)? mismatch =
            summary.DataEnd != validEnd ? ("data end", SegmentSummary.OffDataEnd, summary.DataEnd.ToString(CultureInfo.InvariantCulture), validEnd.ToString(CultureInfo.InvariantCulture))
            : summary.BlockCount != blocks ? ("block count", SegmentSummary.OffBlockCount, summary.BlockCount.ToString(CultureInfo.InvariantCulture), blocks.ToString(CultureInfo.InvariantCulture))
            : summary.RecordCount != records ? ("event count", SegmentSummary.OffRecordCount, summary.RecordCount.ToString(CultureInfo.InvariantCulture), records.ToString(CultureInfo.InvariantCulture))
            : summary.FirstEventId != firstId || summary.LastEventId != lastId ? ("event ids", SegmentSummary.OffFirstId, $"{summary.FirstEventId}..{summary.LastEventId}", $"{firstId}..{lastId}")
            : blocks > 0 && summary.FinalChain != finalChain ? ("final chain", SegmentSummary.OffFinalChain, Hex.Of(summary.FinalChain), Hex.Of(finalChain ?? 0))
            : null;
        if (mismatch is not { } m)
        {
            return null;
        }

        bool dataMissing = m.Offset == SegmentSummary.OffDataEnd && validEnd < summary.DataEnd;
        return new Finding(FindingSeverity.Damage, FindingCode.SummaryMismatch, path, dataMissing ? validEnd : SegmentFormat.SummaryOffset + m.Offset, dataMissing ? blocks : -1,
            $"the summary's {m.Field} disagrees with the blocks (blocks lost or summary damaged)", m.Expected, m.Found);
    }

    private static void ClassifyClosed(SegmentScan scan, byte* data, long limit, SegmentSummary summary, BlockFailure? failure)
    {
        if (failure is { HeaderIncomplete: true } && summary.IsRecoveredClose && summary.DataEnd == scan.ValidEnd)
        {
            failure = null; // the seal a crash interrupted, which recovery declared abandoned
        }

        if (failure is not null)
        {
            scan.Add(failure.Finding);
        }

        int blocks = scan.BlockOffsets.Count;
        Finding? mismatch = SummaryDisagrees(scan.Path, summary, scan.ValidEnd, blocks, scan.RecordCount, scan.FirstEventId, scan.LastEventId, scan.FinalChain);
        if (mismatch is not null && failure is null)
        {
            scan.Add(mismatch);
        }

        if (blocks == 0)
        {
            scan.FinalChain = summary.FinalChain;
        }

        if (failure is null && mismatch is null && AfterData(scan.Path, data, scan.ValidEnd, limit, summary) is { } after)
        {
            scan.Add(after);
        }

        scan.State = SegmentState.Closed;
    }

    /// <summary>
    /// Judges the end of an open segment's valid prefix. False, with nothing recorded, when a later
    /// block follows the prefix and <paramref name="mayWalkOn"/>: the caller walks on from the prefix's
    /// end (a live recorder sealed blocks there since) and asks again.
    /// </summary>
    private static bool ClassifyOpen(SegmentScan scan, byte* data, long limit, BlockFailure? failure, bool summaryCorrupt, bool mayWalkOn)
    {
        if (failure is not null && !failure.HeaderIncomplete)
        {
            // A crash cannot produce a valid block header over invalid content: headers are written last.
            scan.Add(failure.Finding);
            return true;
        }

        long stray = FirstNonZero(data, scan.ValidEnd, limit);
        if (stray < 0)
        {
            scan.State = scan.BlockOffsets.Count == 0 ? SegmentState.Empty : SegmentState.Open;
            return true;
        }

        long later = FindLaterBlock(scan, data, limit);
        if (later >= 0 && mayWalkOn)
        {
            return false;
        }

        if (later >= 0)
        {
            if (failure is not null)
            {
                scan.Add(failure.Finding);
            }

            BlockHeader found = BlockHeader.Read(new ReadOnlySpan<byte>(data + later, SegmentFormat.BlockHeaderSize));
            scan.LaterBlockLastEventId = found.LastEventId;
            scan.Add(FindingSeverity.Damage, FindingCode.BlocksLost, scan.ValidEnd, scan.BlockOffsets.Count,
                $"a valid block (index {found.BlockIndex}, events {found.FirstEventId}..{found.LastEventId}) starts at {later}, after damage at {scan.ValidEnd}: the blocks between are lost",
                $"block {scan.BlockOffsets.Count} at {scan.ValidEnd}", $"block {found.BlockIndex} at {later}");
            return true;
        }

        scan.TornFailure = failure?.Finding;
        scan.Add(FindingSeverity.TornTail, FindingCode.TornTail, scan.ValidEnd, scan.BlockOffsets.Count,
            $"unsealed bytes follow the last sealed block (first non-zero byte at {stray}): a write that a crash interrupted; its events were never committed");
        scan.State = summaryCorrupt ? SegmentState.Damaged : SegmentState.TornTail;
        return true;
    }

    /// <summary>
    /// After the valid prefix of an open segment, the first valid block header that could only have
    /// been sealed after the blocks that are missing (a later index, later ids), or -1. Payload bytes
    /// of a torn block that merely look like a block header are not enough.
    /// </summary>
    private static long FindLaterBlock(SegmentScan scan, byte* data, long limit)
    {
        for (long at = scan.ValidEnd + SegmentFormat.BlockAlignment; ; at += SegmentFormat.BlockAlignment)
        {
            at = FindBlockHeader(data, at, limit);
            if (at < 0)
            {
                return -1;
            }

            BlockHeader block = BlockHeader.Read(new ReadOnlySpan<byte>(data + at, SegmentFormat.BlockHeaderSize));
            if (block.BlockIndex > scan.BlockOffsets.Count && block.FirstEventId > scan.LastEventId)
            {
                return at;
            }
        }
    }

    /// <summary>The offset of the first 64-aligned position in [from, limit) holding a block header with a valid magic and CRC, or -1.</summary>
    internal static long FindBlockHeader(byte* data, long from, long limit)
    {
        from = SegmentFormat.AlignUp(from, SegmentFormat.BlockAlignment);
        for (long at = from; at + SegmentFormat.BlockHeaderSize <= limit; at += SegmentFormat.BlockAlignment)
        {
            if (*(uint*)(data + at) == SegmentFormat.BlockMagic)
            {
                var bytes = new ReadOnlySpan<byte>(data + at, SegmentFormat.BlockHeaderSize);
                if (BlockHeader.StoredCrc(bytes) == BlockHeader.ComputeCrc(bytes))
                {
                    return at;
                }
            }
        }

        return -1;
    }

    /// <summary>The offset of the first non-zero byte in [from, to), or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // per record: see WalkBlocks
    internal static long FirstNonZero(byte* data, long from, long to)
    {
        for (long at = from; at < to;)
        {
            int chunk = (int)Math.Min(to - at, 1 << 30);
            int found = new ReadOnlySpan<byte>(data + at, chunk).IndexOfAnyExcept((byte)0);
            if (found >= 0)
            {
                return at + found;
            }

            at += chunk;
        }

        return -1;
    }
}
