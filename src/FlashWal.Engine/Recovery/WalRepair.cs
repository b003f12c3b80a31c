using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;

namespace FlashWal.Recovery;

/// <summary>
/// Repairs a WAL directory so that a recorder can continue it, without deleting or rewriting any
/// event: <see cref="Plan"/> says what it would do and changes nothing; <see cref="RepairPlan.Apply"/>
/// does it, one action at a time, under the directory lock.
/// </summary>
/// <remarks>
/// <para>Every decision is one the engine already makes elsewhere: which files are foreign or
/// unreadable is the catalog's judgement (<see cref="WalCatalog"/>, with the verifier's set checks);
/// what a crash left at the end of the log, and what opening it for writing deletes or closes, is the
/// recorder's own plan (<see cref="ResumePoint"/>); what the log has lost is a salvage replay's report
/// (<see cref="WalRecovery"/>).</para>
/// <para>What it does: a segment of another log, and a file named as a segment whose header cannot be
/// read (nothing in it can be replayed), are moved into <c>quarantine/&lt;UTC time&gt;/</c> with a README;
/// prepared segments that hold nothing are deleted and segments a crash left open are closed (a torn
/// tail cut after its last sealed block) exactly as a recorder's open would; and when the end of the
/// log is damaged, a small closed segment without events (a fence) is written after it, so a recorder
/// continues after the highest id the log is known to have held instead of refusing.</para>
/// <para>What it leaves: a damaged segment of the log stays in place, because salvage still replays
/// every block of it that verifies (moving it would lose them too); the verifier and recovery keep
/// reporting its damage. A missing segment cannot be brought back; it is reported. Files that are not
/// FlashWal's (other names) are not touched. A file repair cannot read (permissions, a newer format
/// version) blocks the whole repair: it cannot judge a directory it cannot read.</para>
/// </remarks>
public static class WalRepair
{
    /// <summary>The folder, inside the WAL directory, that quarantined files are moved into (one sub-folder per repair).</summary>
    public const string QuarantineFolderName = "quarantine";

    /// <summary>
    /// Plans the repair of <paramref name="directory"/> without changing anything (a dry run): every
    /// action with its target, reason and the event ids it concerns, and what the log has lost.
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalDirectoryLockedException">A recorder is writing the directory.</exception>
    public static RepairPlan Plan(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string full = Path.GetFullPath(directory);
        bool held;
        try
        {
            held = Directory.Exists(full) && LiveLog.IsWriterPresent(full);
        }
        catch (UnauthorizedAccessException e)
        {
            throw WalFileErrors.Reading(full, e, isDirectory: true);
        }

        if (held)
        {
            throw new WalDirectoryLockedException(full, DirectoryLock.ReadOwner(full));
        }

        return PlanCore(full);
    }

    /// <summary>The plan, for a caller that made sure no recorder runs (or holds the lock itself).</summary>
    internal static RepairPlan PlanCore(string directory)
    {
        WalCatalog catalog = WalCatalog.Open(directory, live: false); // no recorder runs: Plan checked, or Apply holds the lock
        WalDirectoryListing listing = WalDirectory.List(directory);
        RecoveryReport salvage = Salvage(directory);
        var blockers = catalog.Findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (Ambiguity(catalog) is { } ambiguous)
        {
            blockers.Add(ambiguous);
        }

        LogId? log = catalog.LogId ?? (catalog.Checkpoint?.LogId);
        var quarantined = Quarantined(catalog, log).ToList();
        if (log is null && quarantined.Count > 0)
        {
            blockers.Add(new Finding(FindingSeverity.Error, FindingCode.NoSegments, directory, -1, -1,
                "no segment can be read and no checkpoint names the log: repair will not let a new log start over files it cannot read"));
        }

        if (blockers.Count > 0)
        {
            return new RepairPlan(catalog, salvage, [], blockers, null);
        }

        var moved = quarantined.Select(q => q.Scan.Path).ToHashSet(StringComparer.Ordinal);
        var stays = listing.Segments.Where(s => !moved.Contains(s.Path)).ToList();
        TailPlan tail = ResumePoint.Plan(directory, stays);
        var actions = new List<RepairAction>();
        var removals = tail.Unused.Select(u => new RepairAction(RepairActionKind.RemovePreparedSegment, u.Path,
            ReasonFor(catalog, u.Path, FindingCode.SegmentEmpty, SegmentVerifier.PreparedUnusedMessage),
            "deletes a segment after the last one with data that holds no event (prepared and never used, or a creation a crash cut short), as a recorder's open does",
            null, []) { Scan = u }).ToList();
        actions.AddRange(removals);
        // Closed oldest first, as a recorder's open does: interrupted, that leaves closed segments only
        // before the ones still open.
        actions.AddRange(tail.ToClose.Select(s => (s.SegmentIndex, Action: Close(s)))
            .Concat(tail.Abandon.Select(s => (s.SegmentIndex, Action: Abandon(s, tail.Tail))))
            .Concat(tail.Fill.Select(i => (SegmentIndex: i, Action: Fill(directory, i, tail.Tail))))
            .OrderBy(step => step.SegmentIndex).Select(step => step.Action));
        if (tail.Refusal is { Code: FindingCode.DurableEventsMissing } && tail.Refused is { HasDamage: false } newest)
        {
            // Refused only because the checkpoint names durable events the segments no longer hold: the
            // segments left open are intact and are closed as a recorder's open would (§16.1), before
            // the fence that will follow them. Left open behind it, a torn one would read as damage.
            actions.AddRange(ResumePoint.OpenSegments(newest, stays, stays.FindIndex(s => s.Path == newest.Path)).ToClose.Select(Close));
        }

        var used = listing.Segments.Where(s => !tail.Unused.Any(u => u.Path == s.Path)).ToList();
        long lastStaying = stays.Where(s => !tail.Unused.Any(u => u.Path == s.Path)).Select(s => s.Index).DefaultIfEmpty(-1).Max();
        var trailing = quarantined.Where(q => !q.Foreign && q.Scan.SegmentIndex > lastStaying).ToList();
        RepairAction? fence = null;
        long nextEventId = tail.Tail.NextEventId;
        if (tail.Refusal is not null || trailing.Count > 0)
        {
            long index = used.Select(s => s.Index).DefaultIfEmpty(-1).Max() + 1;
            var below = stays.Where(s => s.Index < index && !tail.Unused.Any(u => u.Path == s.Path)).Reverse().Select(s => s.Path);
            (long readable, long known, uint chain) = ResumePoint.KnownEnd(directory, below, log!.Value);
            fence = Fence(directory, index, log.Value, chain, readable, known, tail, trailing, removals);
            actions.Add(fence);
            nextEventId = known + 1;
        }

        foreach ((SegmentScan scan, Finding why, bool foreign) in quarantined.OrderBy(q => q.Scan.SegmentIndex))
        {
            bool last = trailing.Exists(t => t.Scan == scan);
            actions.Add(Quarantine(catalog, scan, why, foreign, log!.Value, last ? nextEventId - 1 : null, last && fence is not null ? [fence] : []));
        }

        return new RepairPlan(catalog, salvage, actions, [], nextEventId);
    }

    /// <summary>Replays every event that verifies, to learn exactly which ids the log has lost and why.</summary>
    internal static RecoveryReport Salvage(string directory)
    {
        using var recovery = WalRecovery.OpenAtRest(directory, new RecoveryOptions { Mode = RecoveryMode.Salvage });
        return recovery.Replay(0, static _ => { });
    }

    /// <summary>
    /// The files to quarantine, by the catalog's judgement: segments of another log than the
    /// directory's, and files named as segments whose header cannot be read, which hold nothing a
    /// reader can replay. Never-written files after the last data are not among them (they hold nothing:
    /// the tail plan deletes them), nor files that could not be read at all (they block the repair),
    /// nor unreadable files older than every readable segment of the log: moved, they would leave no
    /// missing index behind, and the loss would look like retention's deletions.
    /// </summary>
    private static IEnumerable<(SegmentScan Scan, Finding Why, bool Foreign)> Quarantined(WalCatalog catalog, LogId? log)
    {
        long firstReadable = catalog.Segments.Where(s => s.Header is { } h && h.LogId == log).Select(s => s.SegmentIndex).DefaultIfEmpty(-1).Min();
        foreach (SegmentScan scan in catalog.Segments)
        {
            if (catalog.Findings.FirstOrDefault(f => f.Code == FindingCode.ForeignSegment && f.File == scan.Path) is { } foreign)
            {
                yield return (scan, foreign, true);
            }
            else if (scan.Header is null && scan.SegmentIndex > firstReadable
                && catalog.Findings.FirstOrDefault(f => f.File == scan.Path && f.Severity == FindingSeverity.Damage) is { } damage)
            {
                yield return (scan, damage, false);
            }
        }
    }

    /// <summary>
    /// Segments of several logs where the catalog's choice of the directory's log is not certain (as
    /// many of one as of another, or a checkpoint naming the other): quarantining "foreign" segments
    /// could then move the log's own. Null when the choice is certain.
    /// </summary>
    private static Finding? Ambiguity(WalCatalog catalog)
    {
        var logs = catalog.Segments.Where(s => s.Header is not null).GroupBy(s => s.Header!.Value.LogId)
            .Select(g => (Log: g.Key, Count: g.Count())).OrderByDescending(g => g.Count).ToList();
        if (logs.Count < 2)
        {
            return null;
        }

        LogId? named = catalog.Checkpoint?.LogId is { } c && logs.Exists(l => l.Log == c) ? c : null;
        if (named is { } checkpointLog && checkpointLog != catalog.LogId)
        {
            return SegmentLink.CheckpointNamesMinority(catalog.Directory, catalog.LogId, checkpointLog);
        }

        return named is null && logs[0].Count == logs[1].Count
            ? SegmentLink.LogsTied(catalog.Directory, logs[0].Log, logs[1].Log, logs[0].Count)
            : null;
    }

    private static RepairAction Abandon(SegmentScan scan, ResumePoint end)
    {
        Finding reason = end.TornTail ?? new Finding(FindingSeverity.Info, FindingCode.TornTail, scan.Path, -1, -1, "the segment lies beyond the log's torn end");
        return new RepairAction(RepairActionKind.AbandonSegment, scan.Path, reason,
            string.Create(CultureInfo.InvariantCulture,
                $"writes the summary of a segment without blocks, flagged RecoveredClose, into a segment written after the log's torn end (after event {end.LastEventId}): its bytes stay in the file, declared abandoned, never replayed{(scan.Header is null ? "; its header page, which never reached the disk, gets its header first" : "")}, as a recorder's open does"),
            null, []) { Scan = scan, Abandoned = (end.LogId, end.ChainValue) };
    }

    private static RepairAction Fill(string directory, long index, ResumePoint end)
    {
        string path = Path.Combine(directory, SegmentFileName.Format(index));
        Finding reason = end.TornTail ?? new Finding(FindingSeverity.Info, FindingCode.SegmentMissing, path, -1, -1, "the segment's name was lost beyond the log's torn end");
        return new RepairAction(RepairActionKind.AbandonSegment, path, reason,
            string.Create(CultureInfo.InvariantCulture,
                $"creates {Path.GetFileName(path)}, whose name a power cut lost after the log's torn end (after event {end.LastEventId}), as a closed segment without blocks, so that no index is missing in the log, as a recorder's open does"),
            null, []) { Abandoned = (end.LogId, end.ChainValue) };
    }

    private static RepairAction Close(SegmentScan scan)
    {
        bool torn = scan.State == SegmentState.TornTail;
        Finding reason = torn
            ? scan.Findings.First(f => f.Code == FindingCode.TornTail)
            : new Finding(FindingSeverity.Info, FindingCode.SegmentNotClosed, scan.Path, SegmentFormat.SummaryOffset, -1, "the segment was left open by a recorder that stopped without closing it");
        string what = string.Create(CultureInfo.InvariantCulture,
            $"writes the summary of its {scan.BlockOffsets.Count} sealed block(s) (events {scan.FirstEventId}..{scan.LastEventId}, every one kept)");
        return new RepairAction(torn ? RepairActionKind.CutTornTail : RepairActionKind.CloseSegment, scan.Path, reason,
            torn
                ? what + string.Create(CultureInfo.InvariantCulture, $", flagged RecoveredClose: the unsealed bytes from offset {scan.ValidEnd} on were never committed and are abandoned (left in the file, never replayed), as a recorder's open does")
                : what + ", as a recorder's open does",
            null, []) { Scan = scan };
    }

    private static RepairAction Fence(string directory, long index, LogId log, uint chain, long readable, long known, TailPlan tail,
        List<(SegmentScan Scan, Finding Why, bool Foreign)> trailing, List<RepairAction> removals)
    {
        string path = Path.Combine(directory, SegmentFileName.Format(index));
        string next = string.Create(CultureInfo.InvariantCulture, $"a recorder then continues at event {known + 1} in segment {SegmentFileName.Format(index + 1)}");
        if (tail.Refusal is { } refusal)
        {
            LostRange? lost = known > readable
                ? new LostRange(readable + 1, known, refusal)
                : tail.Refused is { Summary: null, State: SegmentState.Damaged } && tail.Refused.Path == refusal.File ? new LostRange(readable + 1, null, refusal) : null;
            string losing = lost is null
                ? "no event after the last readable one is known to be lost"
                : lost.LastEventId is long last
                    ? string.Create(CultureInfo.InvariantCulture, $"events {lost.FirstEventId}..{last} ({last - lost.FirstEventId + 1}), known to have been written after the last readable event {readable}, are lost")
                    : string.Create(CultureInfo.InvariantCulture, $"whatever was committed after the last readable event {readable} is lost (nothing says how far the damaged segment went)");
            string where = refusal.Code == FindingCode.DurableEventsMissing
                ? $"after the end of the log, which lacks events the checkpoint reported durable, so a recorder refuses to continue it (it would hand those ids out again); {next}. The fence keeps the loss on record ({nameof(FindingCode.FencedLoss)})"
                : $"after the damaged end of the log, which a recorder refuses to continue; {next}. {Path.GetFileName(refusal.File)} stays in place: its readable events remain readable by salvage and its damage is still reported";
            return new RepairAction(RepairActionKind.FenceDamagedTail, path, refusal,
                $"writes {SegmentFileName.Format(index)}, a closed segment without events, {where}; {losing}",
                lost, removals) { Fence = (index, log, chain, known) };
        }

        (SegmentScan scan, Finding why, _) = trailing[^1];
        return new RepairAction(RepairActionKind.FenceDamagedTail, path, why,
            $"writes {SegmentFileName.Format(index)}, a closed segment without events, after {Path.GetFileName(scan.Path)}, which is quarantined: without it a recorder would take that index again and continue the chain as if nothing were missing; {next}, and the missing index keeps the gap visible",
            null, removals) { Fence = (index, log, chain, known) };
    }

    private static RepairAction Quarantine(WalCatalog catalog, SegmentScan scan, Finding why, bool foreign, LogId log, long? knownEnd, IReadOnlyList<RepairAction> requires)
    {
        string name = Path.GetFileName(scan.Path);
        if (foreign)
        {
            string events = scan.RecordCount > 0 ? string.Create(CultureInfo.InvariantCulture, $"its events {scan.FirstEventId}..{scan.LastEventId} are that log's") : "it holds no event";
            return new RepairAction(RepairActionKind.QuarantineSegment, scan.Path, why,
                $"moves {name}, a segment of another log ({scan.Header?.LogId}; {events}), out of this log into quarantine: none of this log's events are in it",
                null, requires) { Scan = scan };
        }

        // The ids it can have held lie between its neighbours of the log.
        long previous = catalog.Segments.Where(s => s.SegmentIndex < scan.SegmentIndex && s.Header?.LogId == log)
            .Select(s => Math.Max(s.LastEventId, s.Summary?.LastEventId ?? 0)).DefaultIfEmpty(0).Max();
        long? following = catalog.Segments.Where(s => s.SegmentIndex > scan.SegmentIndex && s.Header?.LogId == log && s.RecordCount > 0)
            .Select(s => (long?)s.FirstEventId).Min();
        LostRange? lost = following is long first
            ? (first - 1 > previous ? new LostRange(previous + 1, first - 1, why) : null)
            : new LostRange(previous + 1, knownEnd > previous ? knownEnd : null, why);
        string range = lost is null
            ? "the ids of the segments around it follow each other, so it held no event of this log"
            : lost.LastEventId is long last
                ? string.Create(CultureInfo.InvariantCulture, $"events {lost.FirstEventId}..{last} ({last - lost.FirstEventId + 1}), which it can have held, are lost (quarantined, not deleted)")
                : string.Create(CultureInfo.InvariantCulture, $"whatever it held from event {lost.FirstEventId} on is lost (quarantined, not deleted)");
        return new RepairAction(RepairActionKind.QuarantineSegment, scan.Path, why,
            $"moves {name}, whose header cannot be read (no reader can replay anything in it), out of the log into quarantine; {range}; the missing index keeps the gap visible to verification and recovery",
            lost, requires) { Scan = scan };
    }

    private static Finding ReasonFor(WalCatalog catalog, string path, FindingCode code, string message) =>
        catalog.Findings.FirstOrDefault(f => f.File == path && f.Code == code) ?? new Finding(FindingSeverity.Info, code, path, -1, -1, message);
}
