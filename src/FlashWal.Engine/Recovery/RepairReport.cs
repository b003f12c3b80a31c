using System.Globalization;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recovery;

/// <summary>What became of one planned action.</summary>
public enum RepairOutcome
{
    /// <summary>Done.</summary>
    Applied = 0,

    /// <summary>The caller's callback said no.</summary>
    Declined,

    /// <summary>Skipped because an action it requires was not applied.</summary>
    NotApplied,

    /// <summary>Tried and failed (<see cref="RepairResult.Detail"/> says why); the repair stopped there.</summary>
    Failed,

    /// <summary>Not tried: an earlier action failed.</summary>
    NotAttempted,
}

/// <summary>One planned action and what became of it.</summary>
/// <param name="Action">The action, as the plan showed it.</param>
/// <param name="Outcome">Applied, declined, skipped or failed.</param>
/// <param name="Detail">What was done (where a file was moved, the summary written) or why not.</param>
public sealed record RepairResult(RepairAction Action, RepairOutcome Outcome, string Detail);

/// <summary>What <see cref="RepairPlan.Apply"/> did, and the state of the directory afterwards.</summary>
public sealed class RepairReport
{
    internal RepairReport(string directory, IReadOnlyList<RepairResult> results, string? quarantineFolder, RecoveryReport salvage,
        VerificationReport after, Finding? recorderRefusal, long? nextEventId)
    {
        Directory = directory;
        Results = results;
        QuarantineFolder = quarantineFolder;
        Losses = salvage.Gaps;
        Damage = salvage.Damage;
        After = after;
        RecorderRefusal = recorderRefusal;
        NextEventId = nextEventId;
    }

    /// <summary>The WAL directory, full path.</summary>
    public string Directory { get; }

    /// <summary>Every planned action, in order, with what became of it.</summary>
    public IReadOnlyList<RepairResult> Results { get; }

    /// <summary>The actions done.</summary>
    public IEnumerable<RepairAction> Applied => Results.Where(r => r.Outcome == RepairOutcome.Applied).Select(r => r.Action);

    /// <summary>The actions not done: declined, skipped for a requirement, failed or not attempted.</summary>
    public IEnumerable<RepairResult> NotApplied => Results.Where(r => r.Outcome != RepairOutcome.Applied);

    /// <summary>The action that failed, if one did (the repair stopped there).</summary>
    public RepairResult? Failure => Results.FirstOrDefault(r => r.Outcome == RepairOutcome.Failed);

    /// <summary>The folder this repair moved files into (with its README.txt); null when it moved none.</summary>
    public string? QuarantineFolder { get; }

    /// <summary>Every range of ids the log has lost, as a salvage replay reports it after the repair.</summary>
    public IReadOnlyList<LostRange> Losses { get; }

    /// <summary>Every damage a salvage replay meets after the repair (a damaged segment kept in place, a gap).</summary>
    public IReadOnlyList<Finding> Damage { get; }

    /// <summary>A full verification of the directory after the repair.</summary>
    public VerificationReport After { get; }

    /// <summary>Why a recorder would still refuse to open the directory; null when it can continue.</summary>
    public Finding? RecorderRefusal { get; }

    /// <summary>The id a recorder gives its next event; null when it would refuse.</summary>
    public long? NextEventId { get; }

    /// <summary>Whether every planned action was applied.</summary>
    public bool IsComplete => Results.All(r => r.Outcome == RepairOutcome.Applied);

    /// <summary>Whether the log has lost events (repair brings none back; it reports them).</summary>
    public bool LostEvents => Losses.Count > 0;

    /// <summary>
    /// Whether the repair left nothing to look at: every action applied, none failed, no event lost,
    /// the log verifies intact and a recorder can continue it. <c>flashwal repair</c> exits 0 only then.
    /// </summary>
    public bool IsClean => Failure is null && IsComplete && !LostEvents && After.IsIntact && RecorderRefusal is null;

    /// <summary>
    /// The verdict in one line: <c>FAILED: …</c> (an action failed; the repair stopped there),
    /// <c>REPAIRED: n of m action(s) applied</c> or <c>nothing to repair</c>, then <c>EVENTS LOST</c>,
    /// <c>DAMAGE remains</c> or that the log verifies intact.
    /// </summary>
    public string Verdict
    {
        get
        {
            int applied = Applied.Count();
            if (Failure is { } failed)
            {
                return string.Create(CultureInfo.InvariantCulture, $"FAILED: {failed.Action.Kind} {failed.Action.Target}: {failed.Detail}; {applied} action(s) applied before it");
            }

            string done = Results.Count == 0 ? "nothing to repair" : string.Create(CultureInfo.InvariantCulture, $"REPAIRED: {applied} of {Results.Count} action(s) applied");
            if (LostEvents)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{done}; EVENTS LOST: {LostRange.Total(Losses)} cannot be brought back (verify and recover --mode salvage keep reporting them)");
            }

            return After.IsIntact ? $"{done}; the log verifies intact" : $"{done}; DAMAGE remains (see after:), no event lost";
        }
    }
}
