namespace FlashWal.Format;

/// <summary>Small reads of a segment file that do not need a scan.</summary>
public static class SegmentFile
{
    /// <summary>The segment's summary, when it has a valid one (it is closed); null otherwise.</summary>
    public static SegmentSummary? ReadSummary(string path)
    {
        if (path.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal))
        {
            return CompressedSegment.ReadSummary(path);
        }

        Span<byte> bytes = stackalloc byte[SegmentFormat.SummarySize];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return RandomAccess.Read(stream.SafeFileHandle, bytes, SegmentFormat.SummaryOffset) == bytes.Length
            ? SegmentSummary.TryRead(bytes, out _)
            : null;
    }
}
