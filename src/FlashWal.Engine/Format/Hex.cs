using System.Globalization;

namespace FlashWal.Format;

/// <summary>
/// How findings write numbers from disk: offsets and indices as <c>0x</c> and the fewest hex digits,
/// bytes as two digits, CRCs and chain values as eight. One spelling for every reader, so that a
/// finding's expected and found values compare as text.
/// </summary>
internal static class Hex
{
    /// <summary>An offset, index or id: <c>0x1f</c>.</summary>
    public static string Of(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A byte: <c>0x0a</c>.</summary>
    public static string Of(byte value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);

    /// <summary>A CRC or chain value: <c>0x0000abcd</c>.</summary>
    public static string Of(uint value) => "0x" + value.ToString("x8", CultureInfo.InvariantCulture);
}
