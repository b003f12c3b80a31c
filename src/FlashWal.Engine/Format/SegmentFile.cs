namespace FlashWal.Format;

/// <summary>Small reads of a segment file that do not need a scan.</summary>
internal static class SegmentFile
{
    /// <summary>The segment's summary, when it has a valid one (it is closed); null otherwise (also for a file that is no segment).</summary>
    /// <exception cref="Errors.WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="Errors.WalNotAFileException">The path is a directory.</exception>
    /// <exception cref="Errors.WalAccessDeniedException">The file may not be read.</exception>
    public static SegmentSummary? ReadSummary(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (SegmentLocator.IsCompressed(path))
        {
            return CompressedSegment.ReadSummary(path);
        }

        Span<byte> bytes = stackalloc byte[SegmentFormat.SummarySize];
        using FileStream stream = Errors.WalFileErrors.OpenRead(path);
        return RandomAccess.Read(stream.SafeFileHandle, bytes, SegmentFormat.SummaryOffset) == bytes.Length
            ? SegmentSummary.TryRead(bytes, out _)
            : null;
    }
}
