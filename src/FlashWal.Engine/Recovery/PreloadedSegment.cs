using FlashWal.Errors;
using FlashWal.Inspection;
using FlashWal.Reading;

namespace FlashWal.Recovery;

/// <summary>A segment made ready for the replay thread: an open, verified reader, or why there is none.</summary>
public sealed class PreloadedSegment
{
    private PreloadedSegment(SegmentScan entry, SegmentReader? reader, Finding? failure)
    {
        Entry = entry;
        Reader = reader;
        Failure = failure;
    }

    /// <summary>The catalog's entry for the file.</summary>
    public SegmentScan Entry { get; }

    /// <summary>The open reader, verified; null when <see cref="Failure"/> is set.</summary>
    public SegmentReader? Reader { get; }

    /// <summary>Why the segment could not be opened.</summary>
    public Finding? Failure { get; }

    /// <summary>
    /// Opens and verifies <paramref name="entry"/>'s file (the same work with or without a preloader);
    /// a file that cannot be opened becomes a failure, never an exception.
    /// </summary>
    public static PreloadedSegment Load(SegmentScan entry, bool salvage)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            return new PreloadedSegment(entry, SegmentReader.Open(entry.Path, salvage), null);
        }
        catch (WalCorruptionException e)
        {
            return new PreloadedSegment(entry, null, e.Finding);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            FindingCode code = e is WalFormatException ? FindingCode.NotASegment : e is WalVersionException ? FindingCode.UnsupportedVersion : FindingCode.IoError;
            return new PreloadedSegment(entry, null, new Finding(FindingSeverity.Damage, code, entry.Path, -1, -1, $"the segment cannot be opened: {e.Message}"));
        }
    }
}
