using System.Diagnostics;
using System.Globalization;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Telemetry;

namespace FlashWal.Recovery;

/// <summary>
/// What one replay did: the id it was asked to start at, the events it delivered (count, bytes, first
/// and last id), the segments it opened, how the log ended, the failure that stopped strict mode, why
/// it started elsewhere than asked, and when it ran. The report is made of it.
/// </summary>
/// <param name="from">The id the replay was asked to start at.</param>
internal sealed class ReplayTally(long from)
{
    /// <summary>The id the replay was asked to start at.</summary>
    public long From { get; } = from;

    /// <summary>Events delivered.</summary>
    public long Events { get; private set; }

    /// <summary>Their payload bytes.</summary>
    public long Bytes { get; private set; }

    /// <summary>The first id delivered; 0 before the first.</summary>
    public long FirstId { get; private set; }

    /// <summary>The last id delivered; 0 before the first.</summary>
    public long LastId { get; private set; }

    /// <summary>Segments opened to read (read again included).</summary>
    public int SegmentsOpened { get; set; }

    /// <summary>How the log ends, as far as read.</summary>
    public LogEnd Tail { get; set; }

    /// <summary>The finding that describes the end (a torn tail's), if any.</summary>
    public Finding? TailFinding { get; set; }

    /// <summary>What stopped a strict replay.</summary>
    public Finding? Failure { get; set; }

    /// <summary>Why the replay started elsewhere than asked, in words; null when it started there.</summary>
    public string? StartNote { get; set; }

    /// <summary>Where the replay stands.</summary>
    public RecoveryOutcome Outcome { get; private set; } = RecoveryOutcome.NothingToReplay;

    private long Started { get; } = Stopwatch.GetTimestamp();

    private long Ended { get; set; }

    /// <summary>One event delivered (every event: counters only).</summary>
    public void Count(long id, int payloadLength)
    {
        Events++;
        Bytes += payloadLength;
        LastId = id;
    }

    /// <summary>
    /// The first event delivered is <paramref name="id"/>: when it is later than asked and no gap
    /// explains it, why (the id precedes the log's first, or the log's ids jump over it).
    /// </summary>
    public void First(long id, long logFirstId, bool anyGap)
    {
        FirstId = id;
        if (id > From && From > 0 && !anyGap && StartNote is null)
        {
            StartNote = From < logFirstId
                ? string.Create(CultureInfo.InvariantCulture, $"event {From} precedes the log's first event; the replay starts at {id}")
                : string.Create(CultureInfo.InvariantCulture, $"the log holds no event {From} (its ids jump there); the replay starts at {id}");
        }
    }

    /// <summary>Before any event: the loss just closed took the id asked for.</summary>
    public void StartLost() =>
        StartNote = string.Create(CultureInfo.InvariantCulture, $"event {From} was lost to damage; the replay starts after the gap");

    /// <summary>Before any event: retention deleted <paramref name="path"/> after the replay was planned, so the log starts later (no loss).</summary>
    public void StartDeleted(string path) =>
        StartNote ??= string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)} was deleted (retention) after the replay was planned; the replay starts after it");

    /// <summary>Nothing to replay: the log holds no event, or none from the id asked for.</summary>
    public void StartBeyond(long logLastId) =>
        StartNote = logLastId == 0
            ? "the log holds no event"
            : string.Create(CultureInfo.InvariantCulture, $"the log ends at event {logLastId}: nothing from {From} on");

    /// <summary>
    /// Segment <paramref name="scan"/> was read to its end: how the log ends if it is the last one. Empty
    /// segments a recorder prepared ahead of the one it writes say nothing about that, unless nothing
    /// else did. A valid summary closes a segment even when a block of it is damaged (that damage is
    /// reported on its own): the recorder closed the log, and its end is the summary's.
    /// </summary>
    public void ReadTo(SegmentScan scan)
    {
        if (scan.RecordCount > 0 || scan.Summary is not null || scan.State == SegmentState.TornTail || Tail == LogEnd.None)
        {
            (Tail, TailFinding) = scan.State switch
            {
                SegmentState.Closed => (LogEnd.Closed, null),
                SegmentState.Damaged when scan.Summary is not null => (LogEnd.Closed, null),
                SegmentState.TornTail => (LogEnd.TornTail, scan.Findings.FirstOrDefault(f => f.Code == FindingCode.TornTail)),
                _ => (LogEnd.Open, (Finding?)null),
            };
        }
    }

    /// <summary>The replay is under way.</summary>
    public void Begin() => Outcome = RecoveryOutcome.InProgress;

    /// <summary>The replay ended (or stopped) with <paramref name="outcome"/>.</summary>
    public void End(RecoveryOutcome outcome)
    {
        Outcome = outcome;
        Ended = Stopwatch.GetTimestamp();
    }

    /// <summary>Time from the replay's start to <paramref name="now"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public TimeSpan ElapsedUntil(long now) => Stopwatch.GetElapsedTime(Started, now);

    /// <summary>The report of the replay so far.</summary>
    public RecoveryReport ToReport(string directory, RecoveryOptions options, bool active, ReplayLosses losses, PreloaderTelemetry telemetry) => new()
    {
        Directory = directory,
        Mode = options.Mode,
        Outcome = Outcome,
        RequestedFrom = From,
        StartNote = StartNote,
        SegmentsOpened = SegmentsOpened,
        EventsReplayed = Events,
        FirstEventId = FirstId,
        LastEventId = LastId,
        PayloadBytes = Bytes,
        Elapsed = ElapsedUntil(active || Ended == 0 ? Stopwatch.GetTimestamp() : Ended),
        // Arrays, not collection expressions: those build a compiler-made type that PowerShell cannot
        // index ($report.Gaps[0] would be the whole list).
        Gaps = losses.Gaps(),
        Damage = losses.Damage(),
        DamagedSegments = losses.DamagedSegments(),
        Tail = Tail,
        TailFinding = TailFinding,
        Failure = Failure,
        SegmentOpen = telemetry.Open.Snapshot(),
        ReplayWait = telemetry.Wait.Snapshot(),
        SegmentSwitch = telemetry.Switch.Snapshot(),
        SegmentClose = telemetry.Close.Snapshot(),
        Preloaded = options.UsePreloader,
    };
}
