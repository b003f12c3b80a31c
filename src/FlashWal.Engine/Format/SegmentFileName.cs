using System.Globalization;

namespace FlashWal.Format;

/// <summary>
/// Segment file names: 16 lowercase hex digits of the 64-bit segment index, then ".wal", so that
/// lexicographic order is numeric order for every index a u64 can hold.
/// </summary>
internal static class SegmentFileName
{
    /// <summary>The extension of a segment file.</summary>
    public const string Extension = ".wal";

    /// <summary>The suffix of a segment still being created (it gets its name only once its header is complete).</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>The file name of segment <paramref name="index"/>.</summary>
    public static string Format(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return index.ToString("x16", CultureInfo.InvariantCulture) + Extension;
    }

    /// <summary>Parses a plain (<c>.wal</c>) or compressed (<c>.walz</c>) segment file name.</summary>
    public static bool TryParseAny(string fileName, out long index, out bool compressed)
    {
        compressed = fileName.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal);
        return compressed
            ? TryParse(fileName[..^CompressedSegment.Extension.Length] + Extension, out index)
            : TryParse(fileName, out index);
    }

    /// <summary>Parses a file name (no directory) produced by <see cref="Format"/>.</summary>
    public static bool TryParse(string fileName, out long index)
    {
        index = -1;
        if (fileName.Length != 16 + Extension.Length || !fileName.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> digits = fileName.AsSpan(0, 16);
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out index) && index >= 0;
    }
}
