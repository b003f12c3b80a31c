using System.Buffers.Binary;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// The exception every reader throws for a file that cannot be read as a segment at all (empty, no
/// FlashWal magic, a newer format version, an I/O error, a damaged header): one mapping from the
/// finding to the error, so that the event reader, the tailer and the catalog refuse a file alike.
/// </summary>
internal static class SegmentRefusal
{
    /// <summary>The exception for a file (plain or compressed) whose header <paramref name="finding"/> says cannot be read.</summary>
    public static WalException Of(Finding finding, string path, Func<ushort> version) => finding.Code switch
    {
        FindingCode.FileEmpty or FindingCode.NotASegment => new WalFormatException($"'{path}' is not a FlashWal segment: {finding.Message}.", path),
        FindingCode.UnsupportedVersion => new WalVersionException(path, version()),
        _ => new WalCorruptionException(finding),
    };

    /// <summary>
    /// The exception for a scan without a header: the I/O error that stopped it, or what its first
    /// finding says (the version from the finding, or from the container's header for a compressed file).
    /// </summary>
    public static WalException Of(SegmentScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.ReadError is { } error)
        {
            return error as WalException ?? WalFileErrors.Reading(scan.Path, error);
        }

        Finding first = scan.Findings[0];
        return Of(first, scan.Path, () => first.Found is { } found
            ? ushort.Parse(found, CultureInfo.InvariantCulture)
            : ContainerVersion(scan.Path));
    }

    /// <summary>The format version in a compressed container's header.</summary>
    public static ushort ContainerVersion(string path) =>
        BinaryPrimitives.ReadUInt16LittleEndian(WalFileErrors.ReadAllBytes(path).AsSpan(CompressedSegment.OffVersion, 2));
}
