using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>The outcome of verifying a segment file or a WAL directory.</summary>
public sealed class VerificationReport
{
    private readonly long _logLastEventId; // the log's last event as SegmentVerifier.LastEventOf judges it
    private readonly string? _logId;        // the log the directory holds, as SegmentVerifier.LogOf judges it

    internal VerificationReport(string path, bool isDirectory, IReadOnlyList<SegmentInfo> segments, IReadOnlyList<Finding> findings, long logLastEventId, LogId? log)
    {
        Path = path;
        IsDirectory = isDirectory;
        Segments = segments;
        Findings = findings;
        _logLastEventId = logLastEventId;
        _logId = log?.ToString();
    }

    /// <summary>The segments whose events are the log's: not those of a foreign segment (another log's, reported as damage).</summary>
    private IEnumerable<SegmentInfo> LogSegments => Segments.Where(s => s.Events > 0 && (_logId is null || s.LogId == _logId));

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

    /// <summary>
    /// The verdict in one line, as <c>flashwal verify</c> prints it and <c>Test-WalSegment</c> writes
    /// it: <c>INCOMPLETE</c> (a file could not be read), <c>DAMAGED</c>, intact with a torn tail, or
    /// intact; then the segments, events and ids.
    /// </summary>
    public string Verdict
    {
        get
        {
            string ids = Events > 0 ? string.Create(CultureInfo.InvariantCulture, $", ids {FirstEventId}..{LastEventId}") : "";
            string what = string.Create(CultureInfo.InvariantCulture, $"{Segments.Count} segment(s), {Events} event(s){ids}");
            int damage = Findings.Count(f => f.Severity == FindingSeverity.Damage);
            int errors = Findings.Count(f => f.Severity == FindingSeverity.Error);
            if (errors > 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"INCOMPLETE: {errors} file(s) could not be read, {damage} damage finding(s); {what}");
            }

            if (damage > 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"DAMAGED: {damage} damage finding(s); {what}");
            }

            return HasTornTail ? $"intact, with a torn tail (not provably damage: a crash or a power cut interrupted the last writes; the tail finding says what they may have cost); {what}" : $"intact: {what}";
        }
    }

    /// <summary>Events in the readable prefixes of the log's segments (a foreign segment's are another log's and not counted).</summary>
    public long Events => LogSegments.Sum(s => s.Events);

    /// <summary>The lowest readable event id of the log (0 when none).</summary>
    public long FirstEventId => LogSegments.Select(s => s.FirstEventId).DefaultIfEmpty().Min();

    /// <summary>
    /// The highest event id (0 when none): the highest readable one, or the log's last event when a
    /// damaged segment's summary or its blocks that verify after the damage go further (docs/FORMAT.md §10).
    /// </summary>
    public long LastEventId => Math.Max(LogSegments.Select(s => s.LastEventId).DefaultIfEmpty().Max(), _logLastEventId);
}
