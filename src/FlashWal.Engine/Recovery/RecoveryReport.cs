using FlashWal.Format;
using FlashWal.Telemetry;

namespace FlashWal.Recovery;

/// <summary>How a replay ended.</summary>
public enum RecoveryOutcome
{
    /// <summary>Every event from the start id to the end of the log was replayed (salvage: every one that verifies).</summary>
    Complete = 0,

    /// <summary>The start id lies beyond the last event: there was nothing to replay.</summary>
    NothingToReplay,

    /// <summary>Strict mode stopped at damage or a gap (<see cref="RecoveryReport.Failure"/>).</summary>
    StoppedAtDamage,

    /// <summary>The caller stopped before the end (cancellation, or a new <see cref="WalRecovery.ResumeFrom"/>).</summary>
    Stopped,

    /// <summary>The replay is still under way (a report taken in the middle).</summary>
    InProgress,
}

/// <summary>How the log's last segment ends, as a replay found it (<see cref="RecoveryReport.Tail"/>).</summary>
public enum LogEnd
{
    /// <summary>No segment was reached.</summary>
    None = 0,

    /// <summary>Closed cleanly: a valid summary ends it (damage to its blocks, if any, is reported as damage, not as the tail).</summary>
    Closed,

    /// <summary>Never closed, and nothing follows its last sealed block: a recorder still writing, or killed between commits.</summary>
    Open,

    /// <summary>Never closed, with unsealed bytes after the last sealed block: a killed recorder's last, uncommitted writes.</summary>
    TornTail,
}

/// <summary>What a replay did: counts, ids, speed, every gap and damage met, and the preloader's timings.</summary>
public sealed class RecoveryReport
{
    /// <summary>The WAL directory.</summary>
    public required string Directory { get; init; }

    /// <summary>Strict or salvage.</summary>
    public required RecoveryMode Mode { get; init; }

    /// <summary>How it ended.</summary>
    public required RecoveryOutcome Outcome { get; init; }

    /// <summary>The id asked for.</summary>
    public required long RequestedFrom { get; init; }

    /// <summary>
    /// Set when the replay did not start exactly at <see cref="RequestedFrom"/>: where it started and
    /// why (the id precedes the log, or the log does not hold it).
    /// </summary>
    public string? StartNote { get; init; }

    /// <summary>Segments whose events were read.</summary>
    public required int SegmentsOpened { get; init; }

    /// <summary>Events handed to the caller.</summary>
    public required long EventsReplayed { get; init; }

    /// <summary>First id replayed (0 when none).</summary>
    public required long FirstEventId { get; init; }

    /// <summary>Last id replayed (0 when none).</summary>
    public required long LastEventId { get; init; }

    /// <summary>Payload bytes replayed.</summary>
    public required long PayloadBytes { get; init; }

    /// <summary>From <see cref="WalRecovery.ResumeFrom"/> to the end of the replay (or to now, in progress).</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Events per second over <see cref="Elapsed"/>.</summary>
    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? EventsReplayed / Elapsed.TotalSeconds : 0;

    /// <summary>Payload bytes per second over <see cref="Elapsed"/>.</summary>
    public double BytesPerSecond => Elapsed > TimeSpan.Zero ? PayloadBytes / Elapsed.TotalSeconds : 0;

    /// <summary>Event ids lost to damage or missing segments, in id order (salvage; strict stops at the first).</summary>
    public required IReadOnlyList<LostRange> Gaps { get; init; }

    /// <summary>Every damage met, in replay order.</summary>
    public required IReadOnlyList<Finding> Damage { get; init; }

    /// <summary>Files with damage (skipped whole or in part).</summary>
    public required IReadOnlyList<string> DamagedSegments { get; init; }

    /// <summary>How the last segment reached ends.</summary>
    public required LogEnd Tail { get; init; }

    /// <summary>The torn tail's finding, when <see cref="Tail"/> is <see cref="LogEnd.TornTail"/>.</summary>
    public Finding? TailFinding { get; init; }

    /// <summary>Strict mode's stop: the damage or gap it met.</summary>
    public Finding? Failure { get; init; }

    /// <summary>Opening, mapping and fully verifying one segment (on the preloader thread, or the replay thread without one), in ns.</summary>
    public required LatencySnapshot SegmentOpen { get; init; }

    /// <summary>Time the replay thread waited for the next segment at a switch, in ns.</summary>
    public required LatencySnapshot ReplayWait { get; init; }

    /// <summary>A whole segment switch on the replay thread (hand back the old reader, take the next, check the link), in ns.</summary>
    public required LatencySnapshot SegmentSwitch { get; init; }

    /// <summary>Unmapping and closing a finished segment, in ns.</summary>
    public required LatencySnapshot SegmentClose { get; init; }

    /// <summary>Whether the preloader did the opening and closing.</summary>
    public required bool Preloaded { get; init; }

    /// <summary>
    /// How much of a segment open the replay thread still felt: its mean wait per segment switch over
    /// the mean open and verify, both from this run. Near 0 when the preloader hid the opens; near 1
    /// when the consumer is faster than verification (which reads every byte, where a consumer that
    /// does nothing per event reads only record headers), so it waits for the difference. Null without
    /// a preloader (the replay thread did every open itself) or before any segment was opened.
    /// </summary>
    public double? OpenTimeFelt =>
        Preloaded && SegmentOpen.Count > 0 && SegmentOpen.Mean > 0 && ReplayWait.Count > 0 ? ReplayWait.Mean / SegmentOpen.Mean : null;

    /// <summary>True when nothing was lost: no gap, no damage, and (strict) no stop.</summary>
    public bool IsComplete => Outcome is RecoveryOutcome.Complete or RecoveryOutcome.NothingToReplay && Gaps.Count == 0 && Damage.Count == 0;
}
