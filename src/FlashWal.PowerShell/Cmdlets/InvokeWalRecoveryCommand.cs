using System.Globalization;
using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.PowerShell.Internal;
using FlashWal.Reading;
using FlashWal.Recovery;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Invoke-WalRecovery</c>: replays WAL directories (or single segment files) from an event id,
/// verifying every block, and writes one <see cref="RecoveryReport"/> each. With <c>-ScriptBlock</c>
/// the script block runs for each event, with the event (a <see cref="WalEventRecord"/>) in <c>$_</c>;
/// without, the events are only counted and verified (the fast path).
/// </summary>
/// <remarks>
/// <para>A thin adapter over <see cref="WalRecovery.Run"/>, the loop <c>flashwal recover</c> runs:
/// strict and salvage rules, gaps and damage, the report are all the engine's. <c>Write-Progress</c>
/// shows how far the replay is; Ctrl+C ends it after the event in hand and releases every file.</para>
/// <para><b>Strict mode meeting damage</b> writes the report (outcome <c>StoppedAtDamage</c>, the
/// finding in <c>Failure</c>) and then a non-terminating error <see cref="StoppedAtDamageErrorId"/>
/// (InvalidData) whose message names file, offset and block and whose target object is the report,
/// so that a drill script can test it with <c>-ErrorAction Stop</c> and <c>try/catch</c> and still
/// read the report in <c>$_.TargetObject</c>. Salvage mode writes each gap and damage, and its
/// verdict, as warnings. What the script block throws ends the command, as it would in
/// <c>ForEach-Object</c>.</para>
/// </remarks>
[Cmdlet(VerbsLifecycle.Invoke, "WalRecovery", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(RecoveryReport))]
public sealed class InvokeWalRecoveryCommand : WalPathCmdlet
{
    /// <summary>The error id of a strict replay that stopped at damage or a gap.</summary>
    public const string StoppedAtDamageErrorId = "WalRecoveryStoppedAtDamage";

    /// <summary>The progress activity id of a replay.</summary>
    private const int ProgressActivityId = 0x57A1;

    /// <summary>The event id to start at (the next one present when the log does not hold it).</summary>
    [Parameter]
    [ValidateRange(0L, long.MaxValue)]
    public long FromEventId { get; set; } = 1;

    /// <summary>Strict: stop at the first damage or gap. Salvage: replay every event that verifies and report each lost range.</summary>
    [Parameter]
    public RecoveryMode Mode { get; set; } = RecoveryMode.Strict;

    /// <summary>Runs for each event, with the event in <c>$_</c> (and <c>$args[0]</c>); its output is discarded. The slow path.</summary>
    [Parameter]
    [ValidateNotNull]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string path in ResolvedPaths())
        {
            string action = string.Create(CultureInfo.InvariantCulture,
                $"Replay from event {FromEventId} ({Mode.ToString().ToLowerInvariant()}){(ScriptBlock is null ? "" : ", running the script block for each event")}");
            if (!ShouldProcess(path, action))
            {
                continue;
            }

            RecoveryReport report;
            try
            {
                report = Replay(path);
            }
            catch (Exception e) when (ItemErrors.IsItemError(e))
            {
                WriteItemError(e, path);
                continue;
            }

            if (StopToken.IsCancellationRequested)
            {
                return; // Ctrl+C: the pipeline is stopping; the replay has ended and released its files
            }

            WriteOutcome(report);
        }
    }

    private RecoveryReport Replay(string path)
    {
        using WalRecovery recovery = WalRecovery.OpenPath(path, new RecoveryOptions { Mode = Mode });
        var progress = new ProgressRecord(ProgressActivityId, "Invoke-WalRecovery " + path, "Opening the segments");
        ReplayHandler? apply = ScriptBlock is null ? null : e => Apply(WalEventRecord.From(e, recovery.CurrentSegment));
        try
        {
            return recovery.Run(FromEventId, apply, p => ShowProgress(progress, p), cancellation: StopToken);
        }
        finally
        {
            if (!Stopping)
            {
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
            }
        }
    }

    private void Apply(WalEventRecord record) =>
        ScriptBlock!.InvokeWithContext(null, [new PSVariable("_", record)], record);

    private void ShowProgress(ProgressRecord progress, RecoveryProgress now)
    {
        progress.StatusDescription = now.EventsReplayed == 0
            ? string.Create(CultureInfo.InvariantCulture, $"Replaying from event {now.FirstEventId} to {now.LastEventId} ({Mode.ToString().ToLowerInvariant()})")
            : string.Create(CultureInfo.InvariantCulture, $"Event {now.EventId} of {now.LastEventId}: {now.EventsReplayed} replayed");
        progress.PercentComplete = now.Percent;
        progress.SecondsRemaining = now.Remaining is { } left ? (int)Math.Ceiling(left.TotalSeconds) : -1;
        WriteProgress(progress);
    }

    private void WriteOutcome(RecoveryReport report)
    {
        foreach (string line in RecoveryText.Findings(report))
        {
            WriteVerbose(line);
        }

        WriteVerbose("tail " + RecoveryText.Tail(report));
        WriteVerbose(RecoveryText.Verdict(report));
        if (report.Mode == RecoveryMode.Salvage && RecoveryText.FoundDamage(report))
        {
            foreach (LostRange gap in report.Gaps)
            {
                WriteWarning(RecoveryText.Gap(gap));
            }

            foreach (Finding damage in report.Damage)
            {
                WriteWarning(RecoveryText.Damage(damage));
            }

            WriteWarning(RecoveryText.Verdict(report));
        }

        WriteObject(report);
        if (report.Outcome == RecoveryOutcome.StoppedAtDamage)
        {
            WriteError(new ErrorRecord(new WalCorruptionException(report.Failure!), StoppedAtDamageErrorId, ErrorCategory.InvalidData, report)
            {
                ErrorDetails = new ErrorDetails(RecoveryText.Stopped(report.Failure!))
                {
                    RecommendedAction = "Invoke-WalRecovery -Mode Salvage replays every event that verifies and reports each lost range; Test-WalSegment -Detailed lists every finding.",
                },
            });
        }
    }
}
