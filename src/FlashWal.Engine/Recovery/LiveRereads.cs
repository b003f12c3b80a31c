using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;

namespace FlashWal.Recovery;

/// <summary>
/// A replay of a log a recorder is writing: the segments it must read again before it goes on, and
/// the next segment it holds back meanwhile. The rules that say when are <see cref="LiveLog"/>'s;
/// this is only their bookkeeping.
/// </summary>
/// <remarks>
/// A replay reads segment i while the recorder may still seal blocks in it, and segments after it
/// that were still empty. When the next segment with data shows that (its chain does not continue
/// i, or segments between were met empty or appeared since the catalog was read), those are read
/// again first, their new events only, and the next one waits (docs/results/stress.md, 2, 6 and 9).
/// </remarks>
internal sealed class LiveRereads
{
    private readonly Queue<SegmentScan> _queue = [];
    private readonly List<SegmentScan> _metEmpty = []; // segments met empty since the last with data: the recorder may have written them since
    private PreloadedSegment? _held;

    /// <summary>Whether a segment is held back until the ones queued are read again.</summary>
    public bool HoldsNext => _held is not null;

    /// <summary>Whether segments were met empty since the last one with data.</summary>
    public bool AnyMetEmpty => _metEmpty.Count > 0;

    /// <summary>The segments met empty since the last one with data, in order.</summary>
    public List<SegmentScan> MetEmpty() => [.. _metEmpty];

    /// <summary>A segment was read and held nothing (yet).</summary>
    public void MeetEmpty(SegmentScan scan) => _metEmpty.Add(scan);

    /// <summary>A segment with data was read: those met empty before it are settled.</summary>
    public void MeetData() => _metEmpty.Clear();

    /// <summary>
    /// The segments strictly between <paramref name="after"/> and <paramref name="before"/> as they are
    /// in <paramref name="directory"/> now (<see cref="LiveLog.Between"/>); null when one is missing.
    /// </summary>
    public List<SegmentScan>? Between(string directory, long after, long before) =>
        LiveLog.Between(after, before, _metEmpty, i => SegmentLocator.Find(directory, i));

    /// <summary>
    /// Reads <paramref name="stillOpen"/> (if any) and then <paramref name="between"/> again before
    /// <paramref name="next"/>, which is held back until then.
    /// </summary>
    public void ReadFirst(SegmentScan? stillOpen, List<SegmentScan> between, PreloadedSegment next)
    {
        if (stillOpen is not null)
        {
            _queue.Enqueue(stillOpen);
        }

        between.ForEach(_queue.Enqueue);
        _metEmpty.Clear();
        _held = next;
    }

    /// <summary>
    /// A live log, indices missing before <paramref name="next"/>: when they exist now (created since
    /// the catalog was read), reads them first, after <paramref name="previous"/>'s new events if the
    /// recorder may still have been writing it, and holds <paramref name="next"/> back (true).
    /// </summary>
    public bool ReadAppearedFirst(string directory, SegmentScan? previous, PreloadedSegment next)
    {
        if (previous is null || Between(directory, previous.SegmentIndex, next.Entry.SegmentIndex) is not { } appeared)
        {
            return false;
        }

        ReadFirst(LiveLog.MayStillGrow(previous) ? previous : null, appeared, next);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="next"/>, which holds events, must wait while segments before it are read
    /// again (true: they are queued): <paramref name="previous"/> was read while the recorder still
    /// wrote it (<see cref="LiveLog.MustReadAgain"/>), or segments after it were read while still empty
    /// or, on a live log, created since the catalog was read, and <paramref name="next"/> began after
    /// the recorder sealed their last blocks.
    /// </summary>
    public bool HoldBehindReadsAgain(string directory, bool live, SegmentScan? previous, PreloadedSegment next)
    {
        SegmentScan scan = next.Reader!.Scan;
        long index = next.Entry.SegmentIndex;
        bool previousGrew = LiveLog.MustReadAgain(previous, scan);
        if (scan.RecordCount == 0 || !(previousGrew || AnyMetEmpty || (live && previous is not null && index > previous.SegmentIndex + 1)))
        {
            return false;
        }

        List<SegmentScan>? between = live && previous is not null ? Between(directory, previous.SegmentIndex, index) : MetEmpty();
        if (between is null)
        {
            return false;
        }

        ReadFirst(previousGrew ? previous : null, between, next);
        return true;
    }

    /// <summary>
    /// The next queued segment that holds more events now than when it was read (<see cref="LiveLog.Grew"/>),
    /// opened; null when none does (those that did not are dropped).
    /// </summary>
    public SegmentReader? TryReadAgain(SegmentScan? previous, bool salvage)
    {
        while (_queue.TryDequeue(out SegmentScan? entry))
        {
            if (Reopen(entry, salvage) is { } again)
            {
                if (LiveLog.Grew(entry, again.Scan, previous))
                {
                    return again;
                }

                again.Dispose();
            }
        }

        return null;
    }

    /// <summary>The segment held back; null when none is.</summary>
    public PreloadedSegment? TakeHeld()
    {
        PreloadedSegment? held = _held;
        _held = null;
        return held;
    }

    /// <summary>Forgets everything, handing the held segment's reader (if any) to <paramref name="release"/>.</summary>
    public void Clear(Action<SegmentReader> release)
    {
        if (TakeHeld()?.Reader is { } held)
        {
            release(held);
        }

        Clear();
    }

    /// <summary>Forgets everything (the held segment's reader is the caller's to release first).</summary>
    public void Clear()
    {
        _queue.Clear();
        _metEmpty.Clear();
        _held = null;
    }

    /// <summary>The segment <paramref name="entry"/> describes, where it is now (compressed since, perhaps); null when it cannot be opened.</summary>
    private static SegmentReader? Reopen(SegmentScan entry, bool salvage)
    {
        try
        {
            return SegmentReader.Open(SegmentLocator.Relocate(entry.Path) ?? entry.Path, salvage);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
