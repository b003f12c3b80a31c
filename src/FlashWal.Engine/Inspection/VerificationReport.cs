namespace FlashWal.Inspection;

/// <summary>The outcome of verifying a segment file or a WAL directory.</summary>
public sealed class VerificationReport
{
    private readonly long _logLastEventId; // the log's last event as SegmentVerifier.LastEventOf judges it

    internal VerificationReport(string path, bool isDirectory, IReadOnlyList<SegmentInfo> segments, IReadOnlyList<Finding> findings, long logLastEventId)
    {
        Path = path;
        IsDirectory = isDirectory;
        Segments = segments;
        Findings = findings;
        _logLastEventId = logLastEventId;
    }

    /// <summary>What was verified.</summary>
    public string Path { get; }

    /// <summary>Whether <see cref="Path"/> is a directory.</summary>
    public bool IsDirectory { get; }

    /// <summary>Every segment, by index.</summary>
    public IReadOnlyList<SegmentInfo> Segments { get; }

    /// <summary>Every finding, segment by segment, then those about the set.</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>No damage and no error: every byte checked is as written. A torn tail is allowed (a crash leaves one).</summary>
    public bool IsIntact => !Findings.Any(f => f.Severity >= FindingSeverity.Damage);

    /// <summary>Some file could not be read, so the verification is incomplete.</summary>
    public bool HasErrors => Findings.Any(f => f.Severity == FindingSeverity.Error);

    /// <summary>Whether the log ends in a torn tail.</summary>
    public bool HasTornTail => Findings.Any(f => f.Code == FindingCode.TornTail && f.Severity == FindingSeverity.TornTail);

    /// <summary>Events in the readable prefixes of all segments.</summary>
    public long Events => Segments.Sum(s => s.Events);

    /// <summary>The lowest readable event id (0 when none).</summary>
    public long FirstEventId => Segments.Where(s => s.Events > 0).Select(s => s.FirstEventId).DefaultIfEmpty().Min();

    /// <summary>
    /// The highest event id (0 when none): the highest readable one, or the log's last event when a
    /// damaged segment's summary or its blocks that verify after the damage go further (docs/FORMAT.md §10).
    /// </summary>
    public long LastEventId => Math.Max(Segments.Where(s => s.Events > 0).Select(s => s.LastEventId).DefaultIfEmpty().Max(), _logLastEventId);
}
