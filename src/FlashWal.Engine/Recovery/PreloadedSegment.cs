using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Storage;

namespace FlashWal.Recovery;

/// <summary>A segment made ready for the replay thread: an open, verified reader, or why there is none.</summary>
public sealed class PreloadedSegment
{
    private PreloadedSegment(SegmentScan entry, SegmentReader? reader, Finding? failure, bool vanished = false)
    {
        Entry = entry;
        Reader = reader;
        Failure = failure;
        Vanished = vanished;
    }

    /// <summary>
    /// The file (and any compressed copy of it) no longer exists: deleted since the catalog listed it,
    /// which on a live log is retention's doing. <see cref="Failure"/> says so too.
    /// </summary>
    public bool Vanished { get; }

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
    public static PreloadedSegment Load(SegmentScan entry, bool salvage) => Load(entry, salvage, buffers: null);

    /// <summary><see cref="Load(SegmentScan, bool)"/>, reading the file into a buffer of <paramref name="buffers"/> when one is free.</summary>
    internal static PreloadedSegment Load(SegmentScan entry, bool salvage, ReadBufferPool? buffers)
    {
        ArgumentNullException.ThrowIfNull(entry);

        // The segment where the log ends torn (the catalog declared it, FORMAT.md §9.1): nothing after
        // its valid prefix is part of the log, so salvage reads nothing there.
        salvage &= !entry.EndsTorn;

        // Only a segment that was closed when listed is read into a buffer: its bytes never change. An
        // open one may be a live recorder's, which seals blocks while it is verified, and the scanner
        // walks on over a mapping to see them (SegmentScanner.Scan); a copy would show them as lost.
        ReadBufferPool? pool = entry.Summary is not null ? buffers : null;
        try
        {
            return new PreloadedSegment(entry, SegmentReader.Open(entry.Path, salvage, pool), null);
        }
        catch (Exception e) when (e is WalPathNotFoundException or FileNotFoundException && Format.SegmentLocator.CompressedSince(entry.Path) is { } compressed)
        {
            // A live log: the recorder compressed the segment since the catalog listed it (the
            // container is complete before the original is deleted). Read the container instead.
            return Load(compressed, entry, salvage);
        }
        catch (Exception e) when (e is WalPathNotFoundException or FileNotFoundException)
        {
            return new PreloadedSegment(entry, null, new Finding(FindingSeverity.Damage, FindingCode.IoError, entry.Path, -1, -1, $"the segment cannot be opened: {e.Message}"), vanished: true);
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

    private static PreloadedSegment Load(string compressed, SegmentScan entry, bool salvage)
    {
        try
        {
            return new PreloadedSegment(entry, SegmentReader.Open(compressed, salvage), null);
        }
        catch (WalCorruptionException e)
        {
            return new PreloadedSegment(entry, null, e.Finding);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            return new PreloadedSegment(entry, null, new Finding(FindingSeverity.Damage, FindingCode.IoError, compressed, -1, -1, $"the segment cannot be opened: {e.Message}"));
        }
    }
}
