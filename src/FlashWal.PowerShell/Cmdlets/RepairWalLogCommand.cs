using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.PowerShell.Internal;
using FlashWal.Recovery;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Repair-WalLog</c>: makes a damaged WAL directory one a recorder can continue, deleting or
/// rewriting no event, and writes the engine's <see cref="RepairReport"/> for each directory it
/// changed. A thin adapter over <see cref="WalRepair"/>: what is quarantined, closed, cut or fenced,
/// and what the log has lost, is decided there (the same plan <c>flashwal repair</c> prints).
/// </summary>
/// <remarks>
/// <para>Each planned action is one <c>ShouldProcess</c> (so <c>-WhatIf</c> lists the plan and
/// changes nothing, not even the lock file, and <c>-Confirm</c> asks action by action; the impact is
/// High, so PowerShell asks by default). An action that accepts the loss of events (a fence after
/// damage, quarantining a file whose events are gone) also asks <c>ShouldContinue</c> unless
/// <c>-Force</c> is given: an unattended script passes <c>-Force -Confirm:$false</c>.</para>
/// <para>Only the actions approved are applied, under the directory lock; an action whose
/// prerequisite was declined is not applied either (the report says so).</para>
/// </remarks>
[Cmdlet(VerbsDiagnostic.Repair, "WalLog", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(RepairReport))]
public sealed class RepairWalLogCommand : WalPathCmdlet
{
    /// <summary>The error id when the directory holds what repair will not judge (unreadable files, two logs it cannot tell apart).</summary>
    public const string BlockedErrorId = "WalRepairBlocked";

    /// <summary>The error id when an action failed (the report, written too, says which and why).</summary>
    public const string FailedErrorId = "WalRepairFailed";

    private bool _yesToAll;
    private bool _noToAll;

    /// <summary>Apply actions that accept the loss of events without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string path in ResolvedPaths())
        {
            try
            {
                Repair(path);
            }
            catch (Exception e) when (ItemErrors.IsItemError(e))
            {
                WriteItemError(e, path);
            }
        }
    }

    private void Repair(string path)
    {
        RepairPlan plan = WalRepair.Plan(path);
        WriteVerbose($"{plan.Directory}: {plan.Summary}");
        if (plan.BlockedError() is { } blocked)
        {
            WriteError(new ErrorRecord(blocked, BlockedErrorId, ErrorCategory.InvalidOperation, plan));
            return;
        }

        if (plan.Actions.Count == 0)
        {
            WarnLosses(plan.Losses);
            return;
        }

        var approved = new HashSet<RepairAction>();
        foreach (RepairAction action in plan.Actions)
        {
            if (ShouldProcess(action.Target, $"{action.Kind}: {action.Description}")
                && (!action.LosesEvents || Force.IsPresent || ShouldContinue(
                    $"{action.Description}. The lost events cannot be brought back; they stay reported. Apply it?",
                    $"Repair {plan.Directory}: accept the loss of {action.Lost}", ref _yesToAll, ref _noToAll)))
            {
                approved.Add(action);
            }
        }

        if (approved.Count == 0)
        {
            return; // -WhatIf, or every action declined: nothing was touched
        }

        RepairReport report = plan.Apply(approved.Contains);
        WarnLosses(report.Losses);
        WriteObject(report);
        if (report.Failure is { } failure)
        {
            var failed = new WalException($"repairing '{report.Directory}' failed at {failure.Action.Kind} of {failure.Action.Target}: {failure.Detail}", report.Directory);
            WriteError(new ErrorRecord(failed, FailedErrorId, ErrorCategory.WriteError, report));
        }
    }

    private void WarnLosses(IEnumerable<LostRange> losses)
    {
        foreach (LostRange lost in losses)
        {
            WriteWarning($"lost: {lost}");
        }
    }
}
