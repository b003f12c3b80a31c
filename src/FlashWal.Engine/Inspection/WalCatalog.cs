using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// What a WAL directory holds, read cheaply: every segment's header and summary (plain and
/// compressed), in index order, with what is wrong with the set as a whole — a missing index, two
/// segments claiming the same ids, a chain seed that does not follow its predecessor, foreign or
/// unreadable files, a torn tail — and whether the metadata checkpoint agrees with the segments.
/// </summary>
/// <remarks>
/// Closed segments are described from their summary (<see cref="SegmentScanner.ScanQuick"/>: a few
/// kilobytes each); only files without a valid summary (normally the last, still open segment) are
/// scanned in full. Their blocks are verified when a replay opens them. The set checks are the
/// verifier's own (<see cref="SegmentVerifier"/>), run over these descriptions.
/// </remarks>
public sealed class WalCatalog
{
    private WalCatalog(string directory, IReadOnlyList<SegmentScan> segments, LogId? logId, IReadOnlyList<Finding> findings, MetaCheckpoint? checkpoint)
    {
        Directory = directory;
        Segments = segments;
        LogId = logId;
        Findings = findings;
        Checkpoint = checkpoint;
    }

    /// <summary>The directory, full path (for a catalog of one file, <see cref="OpenSegment"/>, the directory that holds it).</summary>
    public string Directory { get; }

    /// <summary>Every segment file, in index order (unreadable ones by the index in their name).</summary>
    public IReadOnlyList<SegmentScan> Segments { get; }

    /// <summary>The log most segments belong to; null when no segment is readable.</summary>
    public LogId? LogId { get; }

    /// <summary>What is wrong with the files and the set, and what the checkpoint says.</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>The metadata checkpoint, when it could be read.</summary>
    public MetaCheckpoint? Checkpoint { get; }

    /// <summary>Whether any finding is damage or an error.</summary>
    public bool HasDamage => Findings.Any(f => f.Severity >= FindingSeverity.Damage);

    /// <summary>The segments of <see cref="LogId"/> that hold events.</summary>
    public IEnumerable<SegmentScan> SegmentsWithEvents => Segments.Where(s => s.RecordCount > 0 && s.Header?.LogId == LogId);

    /// <summary>First event id the log holds (0 when none).</summary>
    public long FirstEventId => SegmentsWithEvents.Select(s => s.FirstEventId).DefaultIfEmpty().Min();

    /// <summary>Last event id the log holds (0 when none).</summary>
    public long LastEventId => SegmentVerifier.LastEventOf(Segments, LogId);

    /// <summary>Events the log holds (sum over its segments' summaries and valid prefixes).</summary>
    public long Events => SegmentsWithEvents.Sum(s => s.RecordCount);

    /// <summary>Reads the directory.</summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalNotADirectoryException">The path is a file.</exception>
    public static WalCatalog Open(string directory) => Open(directory, live: null);

    /// <summary>
    /// <see cref="Open(string)"/>, told whether a recorder may be writing the log: a repair holding the
    /// lock itself, or a recorder's open, knows it is at rest (null: probe the lock).
    /// </summary>
    internal static WalCatalog Open(string directory, bool? live)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw File.Exists(directory)
                ? new WalNotADirectoryException(directory)
                : MissingPath.Error(directory);
        }

        // In the order of the index each header states (the file name's for unreadable ones), so that
        // renamed or swapped files replay where they belong; the verifier reports the names.
        LogSnapshot snapshot = LogSnapshot.Take(directory, live, quick: true, byHeaderIndex: true);
        List<Finding> findings = snapshot.Findings(inFileOrder: false);
        MetaCheckpoint? checkpoint = snapshot.Checkpoint;
        var catalog = new WalCatalog(directory, snapshot.Scans, snapshot.Log, findings, checkpoint) { TornEnd = snapshot.End }; // Findings is this list: the checkpoint check below lands in it
        findings.AddRange(CheckpointCheck.Check(directory, snapshot.Log, catalog.LastEventId, checkpoint, snapshot.CheckpointProblem, "the segments are used instead"));
        return catalog;
    }

    /// <summary>
    /// Where the log ends when its first failure may be what a power cut left (FORMAT.md §9.1); the
    /// segments after it are not in <see cref="Segments"/>. Null when the log has no such end.
    /// </summary>
    internal TornEnd? TornEnd { get; private init; }

    /// <summary>
    /// Whether every index strictly between <paramref name="after"/> and <paramref name="before"/> is a
    /// file of zeros this catalog listed (a prepared segment whose creation never reached the disk,
    /// which a replay's plan skips): present, holding nothing, so not missing (the verifier judges them
    /// so too).
    /// </summary>
    internal bool NeverWrittenBetween(long after, long before)
    {
        for (long i = after + 1; i < before; i++)
        {
            if (!Segments.Any(s => s.SegmentIndex == i && s.NeverWritten))
            {
                return false;
            }
        }

        return true;
    }


    /// <summary>
    /// Reads <paramref name="path"/> as what it is: a WAL directory (<see cref="Open(string)"/>), or else one
    /// segment file (<see cref="OpenSegment"/>).
    /// </summary>
    /// <exception cref="WalPathNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    public static WalCatalog OpenPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        return System.IO.Directory.Exists(full) ? Open(full) : OpenSegment(full);
    }

    /// <summary>
    /// Describes one segment file (plain or compressed) as a log of its own, for replaying just that
    /// file: its own findings only, without the checks that need the rest of the directory or the
    /// checkpoint. <see cref="Directory"/> is the directory that holds it.
    /// </summary>
    /// <remarks>
    /// A file that is no segment at all (empty, or without the FlashWal magic), or one of a newer
    /// format version, is refused with the exception every reader gives for it
    /// (<see cref="SegmentRefusal"/>). A segment whose header is damaged is described like any other damaged segment: the
    /// replay reports it as damage.
    /// </remarks>
    /// <exception cref="WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    public static WalCatalog OpenSegment(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        path = Path.GetFullPath(path);
        if (System.IO.Directory.Exists(path))
        {
            throw new WalNotAFileException(path);
        }

        if (!File.Exists(path))
        {
            throw MissingPath.Error(path);
        }

        SegmentScan scan = SegmentScanner.ScanQuick(path);
        if (scan.Header is null && scan.Findings is [{ Code: FindingCode.FileEmpty or FindingCode.NotASegment or FindingCode.UnsupportedVersion or FindingCode.IoError }, ..])
        {
            throw SegmentRefusal.Of(scan); // what every reader says of such a file: not a segment, newer version, or the I/O error
        }

        List<SegmentScan> scans = [scan];
        SegmentVerifier.SalvageDamaged(scans);
        return new WalCatalog(System.IO.Path.GetDirectoryName(path)!, scans, scans[0].Header?.LogId, SegmentVerifier.FileFindings(scans).ToList(), checkpoint: null);
    }
}
