using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlashWal.Format;
using FlashWal.Recovery;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal repair &lt;dir&gt; [--dry-run] [--json]</c>: plans the repair of a WAL directory (segments of
/// another log and unreadable ones quarantined, a torn tail cut, a damaged end fenced) and applies it,
/// printing each action with its file, reason and lost ids, then the state afterwards. Exit 0 when
/// nothing needed doing or everything was repaired with nothing lost; 1 when the log has lost events or
/// still holds damage (reported, never hidden), or a dry run found actions to take; 2 on usage or I/O
/// errors, a locked directory, a blocked repair or an action that failed.
/// </summary>
internal static class RepairCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan and change nothing." };
        var json = new Option<bool>("--json") { Description = "Print the plan or the report as JSON." };
        var command = new Command("repair", "Quarantine segments of another log and unreadable ones, cut a torn tail and fence a damaged end so a recorder can continue; print what was done and what is lost.")
        {
            directory, dryRun, json,
        };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            RepairPlan plan = WalRepair.Plan(parse.GetRequiredValue(directory));
            if (parse.GetValue(dryRun) || plan.Blockers.Count > 0)
            {
                int code = plan.Blockers.Count > 0 ? ExitCodes.UsageOrIo : plan.Actions.Count > 0 || plan.HasDamage ? ExitCodes.Damage : ExitCodes.Ok;
                if (parse.GetValue(json))
                {
                    output.WriteLine(JsonSerializer.Serialize(PlanJson(plan, code), Output.Json));
                }
                else
                {
                    PrintPlan(output, plan);
                }

                return code;
            }

            RepairReport report = plan.Apply();
            int exit = report.Failure is not null ? ExitCodes.UsageOrIo : report.IsClean ? ExitCodes.Ok : ExitCodes.Damage;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(ReportJson(plan, report, exit), Output.Json));
            }
            else
            {
                PrintReport(output, plan, report);
            }

            return exit;
        }));
        return command;
    }

    private static void PrintPlan(TextWriter output, RepairPlan plan)
    {
        output.WriteLine($"repair plan for {plan.Directory}{Log(plan)}: {plan.Summary}");
        foreach (Finding blocker in plan.Blockers)
        {
            output.WriteLine("  blocked: " + blocker);
        }

        for (int i = 0; i < plan.Actions.Count; i++)
        {
            PrintAction(output, i, plan.Actions[i], outcome: null);
        }

        PrintLosses(output, plan.KeptDamagedSegments, plan.Losses);
        if (plan.NextEventId is long next)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recorder: {(plan.Actions.Count > 0 ? "once the plan is applied, " : "")}continues at event {next}"));
        }

        output.WriteLine(plan.Blockers.Count > 0 ? "nothing was changed: fix what blocks the repair, then run it again"
            : plan.Actions.Count > 0 ? "dry run: nothing was changed; run without --dry-run to apply the plan"
            : "dry run: nothing was changed");
    }

    private static void PrintReport(TextWriter output, RepairPlan plan, RepairReport report)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"repair of {plan.Directory}{Log(plan)}: {report.Results.Count} action(s)"));
        for (int i = 0; i < report.Results.Count; i++)
        {
            PrintAction(output, i, report.Results[i].Action, report.Results[i]);
        }

        if (report.QuarantineFolder is { } folder)
        {
            output.WriteLine($"quarantine: {folder} (its README.txt says what was moved there and why)");
        }

        output.WriteLine("after: " + report.After.Verdict);
        PrintLosses(output, plan.KeptDamagedSegments.Where(File.Exists).ToList(), report.Losses);
        output.WriteLine(report.NextEventId is long next
            ? string.Create(CultureInfo.InvariantCulture, $"recorder: continues at event {next}")
            : $"recorder: would still refuse to open: {report.RecorderRefusal}");
        output.WriteLine(report.Verdict);
    }

    private static void PrintAction(TextWriter output, int i, RepairAction action, RepairResult? outcome)
    {
        string state = outcome is null ? "" : $": {(outcome.Outcome == RepairOutcome.Applied ? "applied, " + outcome.Detail : outcome.Detail)}";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {i + 1}. {action.Kind} {action.Target}{state}"));
        output.WriteLine("       does: " + action.Description);
        output.WriteLine("       why:  " + action.Reason);
        output.WriteLine("       lost: " + (action.Lost?.ToString() ?? "none"));
    }

    private static void PrintLosses(TextWriter output, IReadOnlyList<string> kept, IReadOnlyList<LostRange> losses)
    {
        foreach (string path in kept)
        {
            output.WriteLine($"kept in place: {path} (damaged; recover --mode salvage replays every block of it that verifies)");
        }

        foreach (LostRange loss in losses)
        {
            output.WriteLine("lost: " + loss);
        }
    }

    private static string Log(RepairPlan plan) => plan.LogId is { } log ? $" (log {log})" : "";

    private static object PlanJson(RepairPlan plan, int exitCode) => new
    {
        plan.Directory,
        DryRun = true,
        LogId = plan.LogId?.ToString(),
        plan.Summary,
        Actions = plan.Actions.Select(a => ActionJson(a, null)),
        plan.Blockers,
        plan.Losses,
        plan.KeptDamagedSegments,
        plan.NextEventId,
        ExitCode = exitCode,
    };

    private static object ReportJson(RepairPlan plan, RepairReport report, int exitCode) => new
    {
        plan.Directory,
        DryRun = false,
        LogId = plan.LogId?.ToString(),
        Actions = report.Results.Select(r => ActionJson(r.Action, r)),
        report.QuarantineFolder,
        report.Losses,
        After = new
        {
            report.After.IsIntact,
            Verdict = report.After.Verdict,
            report.After.Findings,
        },
        report.RecorderRefusal,
        report.NextEventId,
        Verdict = report.Verdict,
        ExitCode = exitCode,
    };

    private static object ActionJson(RepairAction action, RepairResult? result) => new
    {
        action.Kind,
        action.Target,
        action.Description,
        action.Reason,
        action.Lost,
        Requires = action.Requires.Select(r => r.Target),
        Outcome = result?.Outcome,
        Detail = result?.Detail,
    };
}
