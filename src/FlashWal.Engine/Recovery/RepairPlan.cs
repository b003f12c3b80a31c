using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Storage;

namespace FlashWal.Recovery;

/// <summary>
/// What <see cref="WalRepair.Plan"/> found and would do: every action, what the log has lost, and
/// what blocks a repair. Making it changed nothing; <see cref="Apply"/> carries it out.
/// </summary>
public sealed class RepairPlan
{
    internal RepairPlan(WalCatalog catalog, RecoveryReport salvage, IReadOnlyList<RepairAction> actions, IReadOnlyList<Finding> blockers, long? nextEventId)
    {
        Directory = catalog.Directory;
        LogId = catalog.LogId;
        Findings = catalog.Findings;
        Actions = actions;
        Blockers = blockers;
        Losses = salvage.Gaps;
        Damage = salvage.Damage;
        var segments = catalog.Segments.Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        var acted = actions.Where(a => a.Kind == RepairActionKind.QuarantineSegment).Select(a => a.Target).ToHashSet(StringComparer.Ordinal);
        KeptDamagedSegments = [.. salvage.Gaps.Select(g => g.Cause.File).Distinct(StringComparer.Ordinal).Where(p => segments.Contains(p) && !acted.Contains(p))];
        NextEventId = blockers.Count == 0 ? nextEventId : null;
    }

    /// <summary>The WAL directory, full path.</summary>
    public string Directory { get; }

    /// <summary>The log the directory holds (the catalog's judgement); null when no segment is readable.</summary>
    public LogId? LogId { get; }

    /// <summary>Every action, in the order <see cref="Apply"/> takes them. Empty when there is nothing to repair.</summary>
    public IReadOnlyList<RepairAction> Actions { get; }

    /// <summary>
    /// What stops any repair: a file that cannot be read (permissions, a newer format version), or a
    /// directory whose log cannot be told. Fix them and plan again. When there are any, there is no action.
    /// </summary>
    public IReadOnlyList<Finding> Blockers { get; }

    /// <summary>
    /// Every range of ids the log has lost, with its cause, as a salvage replay reports it now. Repair
    /// brings none back; a damaged segment kept in place keeps its readable events readable.
    /// </summary>
    public IReadOnlyList<LostRange> Losses { get; }

    /// <summary>Every damage the salvage replay met (including what loses no event, such as a segment of another log).</summary>
    public IReadOnlyList<Finding> Damage { get; }

    /// <summary>
    /// Damaged segments of the log whose damage loses events and that repair leaves where they are:
    /// salvage still replays every block of them that verifies (moved, those would be lost too).
    /// </summary>
    public IReadOnlyList<string> KeptDamagedSegments { get; }

    /// <summary>The catalog's findings the plan was made from (headers, summaries, the set, the checkpoint).</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>The id a recorder gives its next event once the plan is applied; null when the repair is blocked.</summary>
    public long? NextEventId { get; }

    /// <summary>Whether there is nothing to do (no action and no blocker).</summary>
    public bool IsEmpty => Actions.Count == 0 && Blockers.Count == 0;

    /// <summary>Whether the log has lost events or holds damage, repaired or not.</summary>
    public bool HasDamage => Losses.Count > 0 || Damage.Count > 0 || Findings.Any(f => f.Severity >= FindingSeverity.Damage);

    /// <summary>One line saying what the plan amounts to.</summary>
    public string Summary
    {
        get
        {
            string lost = Losses.Count == 0 ? "" : $"; the log has lost {LostRange.Total(Losses)}, which repair cannot bring back";
            if (Blockers.Count > 0)
            {
                return $"cannot repair: {Blockers.Count} problem(s) must be fixed first{lost}";
            }

            if (Actions.Count > 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{Actions.Count} action(s) to apply{lost}");
            }

            return HasDamage
                ? $"nothing repair can do: a recorder can continue{lost}; the damage stays reported"
                : "nothing to repair: the log is intact";
        }
    }

    /// <summary>Why <see cref="Apply"/> will not run (the first blocker), as the error it throws; null when nothing blocks it.</summary>
    public WalException? BlockedError() =>
        Blockers.Count > 0 ? new WalException($"'{Directory}' cannot be repaired until this is fixed: {Blockers[0]}", Directory) : null;

    /// <summary>
    /// Carries out the plan under the directory lock, one action at a time. Before the first action
    /// it plans again under the lock and stops if the directory changed since this plan was made.
    /// <paramref name="shouldApply"/> is asked before each action (a cmdlet's ShouldProcess): false
    /// skips it, and the actions that require it. The first action that fails stops the repair.
    /// </summary>
    /// <exception cref="WalDirectoryLockedException">A recorder is writing the directory.</exception>
    /// <exception cref="WalException">The plan has blockers, or the directory changed since it was made.</exception>
    public RepairReport Apply(Func<RepairAction, bool>? shouldApply = null)
    {
        if (BlockedError() is { } blocked)
        {
            throw blocked;
        }

        using DirectoryLock held = DirectoryLock.Acquire(Directory);
        RepairPlan now = WalRepair.PlanCore(Directory);
        if (now.Actions.Count != Actions.Count || now.Blockers.Count > 0 || !now.Actions.Zip(Actions).All(p => p.First.SameAs(p.Second)))
        {
            throw new WalException($"'{Directory}' changed since the repair was planned; plan it again and review the new plan.", Directory);
        }

        held.RecordOwner();

        var results = new List<RepairResult>();
        var applied = new HashSet<RepairAction>();
        Quarantine? quarantine = null;
        bool failed = false;
        for (int i = 0; i < Actions.Count; i++)
        {
            RepairAction shown = Actions[i];
            if (failed)
            {
                results.Add(new RepairResult(shown, RepairOutcome.NotAttempted, "not attempted: an earlier action failed"));
            }
            else if (shown.Requires.FirstOrDefault(r => !applied.Contains(r)) is { } missing)
            {
                results.Add(new RepairResult(shown, RepairOutcome.NotApplied, $"not applied: it needs {missing.Kind} of {missing.Target}, which was not applied"));
            }
            else if (shouldApply is not null && !shouldApply(shown))
            {
                results.Add(new RepairResult(shown, RepairOutcome.Declined, "declined"));
            }
            else
            {
                try
                {
                    results.Add(new RepairResult(shown, RepairOutcome.Applied, Execute(now.Actions[i], ref quarantine)));
                    applied.Add(shown);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or WalException)
                {
                    results.Add(new RepairResult(shown, RepairOutcome.Failed, "failed: " + e.Message));
                    failed = true;
                }
            }
        }

        VerificationReport after = SegmentVerifier.VerifyDirectory(Directory, live: false); // this repair holds the lock
        RecoveryReport salvage = WalRepair.Salvage(Directory);
        TailPlan tail = ResumePoint.Plan(WalDirectory.List(Directory));
        return new RepairReport(Directory, results, quarantine?.Folder, salvage, after, tail.Refusal,
            tail.Refusal is null ? tail.Tail.NextEventId : null);
    }

    /// <summary>Does one action (its scan and fence come from the plan made under the lock); returns what was done.</summary>
    private string Execute(RepairAction action, ref Quarantine? quarantine)
    {
        switch (action.Kind)
        {
            case RepairActionKind.RemovePreparedSegment:
                Disk.Real.Delete(action.Target);
                Disk.Real.SyncDirectory(Directory);
                return "deleted (it held no event)";

            case RepairActionKind.CloseSegment:
            case RepairActionKind.CutTornTail:
                SegmentSummary summary = AbandonedSegment.Close(action.Scan!)
                    ?? throw new WalException($"'{action.Target}' was closed already.", action.Target);
                return string.Create(CultureInfo.InvariantCulture,
                    $"closed{(summary.IsRecoveredClose ? " (RecoveredClose)" : "")}: data end {summary.DataEnd}, {summary.BlockCount} block(s), events {summary.FirstEventId}..{summary.LastEventId}");

            case RepairActionKind.AbandonSegment when action.Scan is null:
                AbandonedSegment.CreateAbandoned(Directory, SegmentFileName.TryParse(Path.GetFileName(action.Target), out long missingIndex) ? missingIndex : throw new WalException($"'{action.Target}' is not a segment name.", action.Target),
                    action.Abandoned.Log, action.Abandoned.Chain, Disk.Real);
                return "created: closed without blocks (RecoveredClose), in place of the segment a power cut lost";

            case RepairActionKind.AbandonSegment:
                AbandonedSegment.Abandon(action.Scan, action.Abandoned.Log, action.Abandoned.Chain, Disk.Real);
                return "closed without blocks (RecoveredClose): its content is an abandoned tail";

            case RepairActionKind.FenceDamagedTail:
                (long index, LogId log, uint chain, long last) = action.Fence;
                using (SegmentWriter fence = SegmentWriter.Create(Directory, index, log, FenceOptions))
                {
                    fence.Start(chain, last);
                    fence.Close(); // summary, flush, and the name made durable
                }

                return string.Create(CultureInfo.InvariantCulture, $"created: closed, no events; a recorder continues at event {last + 1}");

            case RepairActionKind.QuarantineSegment:
                quarantine ??= Quarantine.Create(Directory);
                return "moved to " + quarantine.Move(action);

            default:
                throw new InvalidOperationException($"Unknown repair action {action.Kind}.");
        }
    }

    /// <summary>The smallest segment: a fence holds no block, so one page of data is all it needs.</summary>
    private static readonly SegmentOptions FenceOptions = new()
    {
        SegmentSize = SegmentFormat.DataOffset + SegmentFormat.MinBlockSize,
        BlockSize = SegmentFormat.MinBlockSize,
        Prefault = PrefaultMode.None,
    };
}
