using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Whether a recorder may be writing a directory while it is read (the one probe of the directory
/// lock that readers make: the verifier, the catalog, recovery, the tailer), and the rules for
/// reading one it is writing, as functions of scans taken at different moments.
/// </summary>
/// <remarks>
/// A recorder holds an exclusive lock on <c>wal.lock</c> for as long as it writes, and the kernel
/// drops it when the recorder's process dies. While it is held, the files are in the page cache and
/// change under a reader: the live-log rules apply (a segment read again, prepared segments that
/// appear and vanish). Once it is free, every byte the recorder wrote is visible and the log is at
/// rest: what a power cut can leave (FORMAT.md §9.1) applies instead.
/// </remarks>
internal static class LiveLog
{
    /// <summary>
    /// Whether a recorder holds the lock of <paramref name="directory"/> right now, probed without
    /// blocking: a reader's open of <c>wal.lock</c> asks for a shared lock (on Unix .NET takes
    /// <c>flock(LOCK_SH | LOCK_NB)</c>), which fails while a recorder holds its exclusive one, and is
    /// released at once. The kernel drops a recorder's lock when its process dies, so "not held" means
    /// the writer closed the log or is gone.
    /// </summary>
    /// <remarks>
    /// The probe holds a shared lock for the few microseconds between its open and its close; a
    /// recorder that opens the directory in exactly that window tries again (for up to
    /// <c>DirectoryLock.LockedRetryWindow</c>) rather than report the directory locked. Probe sparingly all
    /// the same (a tailer does so only while idle, at most every
    /// <c>TailerOptions.LockProbeInterval</c>).
    /// </remarks>
    /// <returns>False when the lock file or the directory does not exist.</returns>
    /// <exception cref="UnauthorizedAccessException">The lock file cannot be opened for reading, so the answer is unknown.</exception>
    public static bool IsWriterPresent(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string path = Path.Combine(directory, WalDirectory.LockFileName);
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // EWOULDBLOCK (a sharing violation on Windows): the exclusive lock is held
        }
    }

    /// <summary>
    /// <see cref="IsWriterPresent"/>, except that a lock file this process may not open counts as no
    /// recorder: a reader without that right judges the files as they are, at rest.
    /// </summary>
    public static bool IsLive(string directory)
    {
        try
        {
            return IsWriterPresent(directory);
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether <paramref name="previous"/>, read before <paramref name="next"/>, must be read again
    /// first: it was still open (no summary, no damage) and <paramref name="next"/> does not continue
    /// its chain, so the recorder sealed blocks in it after it was read (docs/results/stress.md, 2).
    /// </summary>
    public static bool MustReadAgain(SegmentScan? previous, SegmentScan next) =>
        MayStillGrow(previous) && SegmentLink.CheckChain(previous!, next) is not null;

    /// <summary>Whether a recorder may still be sealing blocks in <paramref name="scan"/>: open, undamaged.</summary>
    public static bool MayStillGrow(SegmentScan? scan) => scan is { Summary: null, HasDamage: false };

    /// <summary>
    /// Whether an index missing before <paramref name="next"/> is no loss (yet): <paramref name="next"/>
    /// holds nothing, a segment the preparer made ready while the recorder created the one before it
    /// itself; a segment with data after the gap judges it (docs/results/stress.md, 6).
    /// </summary>
    public static bool GapBeforeIsNoLossYet(SegmentScan next) => next is { RecordCount: 0, Summary: null };

    /// <summary>
    /// Whether a segment that <paramref name="listed"/> saw and that is gone now held no event: empty
    /// when listed, a prepared segment a closing recorder discarded (docs/results/stress.md, 3).
    /// </summary>
    public static bool VanishedEmpty(SegmentScan listed) => listed is { RecordCount: 0, Summary: null };

    /// <summary>
    /// Why a segment that <paramref name="listed"/> saw is gone now: a prepared segment a closing
    /// recorder discarded (<see cref="VanishedEmpty"/>); or, while the reader has met nothing yet
    /// (<paramref name="nothingMetYet"/>: no event, no loss, no earlier segment with data), retention,
    /// which deleted it after the listing, so the log now starts later (docs/results/stress.md, 3);
    /// otherwise its events are lost. Neither of the first two loses an event.
    /// </summary>
    public static VanishedCause WhyVanished(SegmentScan listed, bool nothingMetYet) =>
        VanishedEmpty(listed) ? VanishedCause.DiscardedByRecorder : nothingMetYet ? VanishedCause.DeletedByRetention : VanishedCause.Lost;

    /// <summary>
    /// Whether <paramref name="listed"/>, found empty, may hold events by now: a segment a recorder had
    /// created but not yet sealed a block in (a file of zeros that never got its header is not one).
    /// A replay from the log's first event reads it again (docs/results/stress.md, 5).
    /// </summary>
    public static bool MayHaveFilledSince(SegmentScan listed) =>
        listed is { RecordCount: 0, Summary: null, State: SegmentState.Empty, NeverWritten: false };

    /// <summary>
    /// Whether <paramref name="again"/>, a later scan of the segment <paramref name="before"/> describes,
    /// holds more of it: more events, no damage, and the same blocks first (the same chain seed; for a
    /// segment that was empty, a chain that continues <paramref name="previous"/>, the last segment
    /// with data before it). Otherwise the earlier reading stands.
    /// </summary>
    public static bool Grew(SegmentScan before, SegmentScan again, SegmentScan? previous)
    {
        bool continues = before.RecordCount > 0
            ? again.ChainSeed == before.ChainSeed
            : previous is null || SegmentLink.CheckChain(previous, again) is not { Severity: >= FindingSeverity.Damage };
        return again.LastEventId > before.LastEventId && !again.HasDamage && continues;
    }

    /// <summary>
    /// The segments strictly between indices <paramref name="after"/> and <paramref name="before"/> as
    /// they are now: those <paramref name="metEmpty"/> holds (read empty earlier), the others where
    /// <paramref name="locate"/> finds them now (created since the listing, to be read as if empty).
    /// Null when one of them is nowhere: it is missing (docs/results/stress.md, 6 and 9).
    /// </summary>
    public static List<SegmentScan>? Between(long after, long before, IReadOnlyList<SegmentScan> metEmpty, Func<long, string?> locate)
    {
        var between = new List<SegmentScan>();
        for (long i = after + 1; i < before; i++)
        {
            SegmentScan? met = null;
            foreach (SegmentScan s in metEmpty)
            {
                if (s.SegmentIndex == i)
                {
                    met = s;
                    break;
                }
            }

            if (met is null && locate(i) is { } path)
            {
                met = new SegmentScan(path, 0) { SegmentIndex = i, State = SegmentState.Empty };
            }

            if (met is null)
            {
                return null;
            }

            between.Add(met);
        }

        return between;
    }
}

/// <summary>Why a segment listed earlier is gone now (<see cref="LiveLog.WhyVanished"/>).</summary>
internal enum VanishedCause
{
    /// <summary>Its events went with it: a loss.</summary>
    Lost,

    /// <summary>A prepared segment, empty, that a closing recorder discarded: no loss.</summary>
    DiscardedByRecorder,

    /// <summary>Retention deleted it before the reader reached it: the log starts later, no loss.</summary>
    DeletedByRetention,
}
