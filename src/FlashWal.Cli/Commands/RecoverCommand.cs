using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlashWal.Recovery;
using FlashWal.Telemetry;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal recover &lt;dir&gt; [--from ID] [--mode strict|salvage] [--json]</c>: replays the log and
/// prints the recovery report. Exit 0 when complete, 1 when damage or a gap was found, 2 on usage or I/O errors.
/// </summary>
internal static class RecoverCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory." };
        var from = new Option<long>("--from") { Description = "The event id to start at (the next one present if it is not).", DefaultValueFactory = _ => 1, CustomParser = Numbers.Whole<long> };
        var mode = new Option<string>("--mode") { Description = "strict: stop at the first damage or gap; salvage: replay everything that verifies and report what was lost.", DefaultValueFactory = _ => "strict" };
        mode.AcceptOnlyFromAmong("strict", "salvage");
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var noPreloader = new Option<bool>("--no-preloader") { Description = "Open, verify and close segments on the replay thread (for comparison)." };
        var command = new Command("recover", "Replay a WAL from an event id, verifying everything, and print the recovery report.") { directory, from, mode, json, noPreloader };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            if (parse.GetValue(from) < 0)
            {
                return CommandErrors.Usage(error, "--from must not be negative.");
            }

            var options = new RecoveryOptions
            {
                Mode = parse.GetValue(mode) == "salvage" ? RecoveryMode.Salvage : RecoveryMode.Strict,
                UsePreloader = !parse.GetValue(noPreloader),
            };
            using var recovery = WalRecovery.Open(parse.GetRequiredValue(directory), options);
            bool progress = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected && !parse.GetValue(json);
            Replay(recovery, parse.GetValue(from), progress ? error : null);
            RecoveryReport report = recovery.Report;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(report, Output.Json));
            }
            else
            {
                Print(output, report);
            }

            return report.IsComplete ? ExitCodes.Ok : ExitCodes.Damage;
        }));
        return command;
    }

    /// <summary>Replays everything; strict mode's stop is in the report. A progress bar on long replays.</summary>
    private static void Replay(WalRecovery recovery, long from, TextWriter? progress)
    {
        bool drawn = false;
        Action<RecoveryProgress>? draw = progress is null ? null : p =>
        {
            if (p.EventsReplayed == 0)
            {
                return; // the start: a short replay draws nothing
            }

            int bar = (int)(p.Fraction * 30);
            progress.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', bar)}{new string('.', 30 - bar)}] {p.Fraction:P0} event {p.EventId:N0}   "));
            drawn = true;
        };
        recovery.Run(from, handler: null, draw);
        if (drawn)
        {
            progress!.WriteLine();
        }
    }

    private static void Print(TextWriter output, RecoveryReport report)
    {
        string ids = report.EventsReplayed > 0 ? string.Create(CultureInfo.InvariantCulture, $", ids {report.FirstEventId}..{report.LastEventId}") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replayed {report.EventsReplayed} event(s){ids} from {report.SegmentsOpened} segment(s) of {report.Directory} in {report.Elapsed.TotalSeconds:F2} s ({report.EventsPerSecond:N0} events/s, {report.BytesPerSecond / (1 << 20):N1} MiB/s of payload)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mode {report.Mode.ToString().ToLowerInvariant()}, tail {RecoveryText.Tail(report)}"));
        foreach (string line in RecoveryText.Findings(report))
        {
            output.WriteLine(line);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"segments ({(report.Preloaded ? "preloaded" : "opened on the replay thread")}, ns)   count        p50        p99        max"));
        Row(output, "open and verify", report.SegmentOpen);
        Row(output, "replay-thread wait", report.ReplayWait);
        Row(output, "segment switch", report.SegmentSwitch);
        Row(output, "close", report.SegmentClose);
        if (report.OpenTimeFelt is double felt)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"preloader: the replay thread waited {report.ReplayWait.Mean / 1e6:F3} ms per switch on average, {felt:P0} of a {report.SegmentOpen.Mean / 1e6:F3} ms open and verify{(felt > 0.5 ? " (this replay does no work per event and outruns verification; see docs/PERFORMANCE.md)" : "")}"));
        }

        output.WriteLine(RecoveryText.Verdict(report));
    }

    private static void Row(TextWriter output, string name, LatencySnapshot s) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-32} {s.Count,6} {s.P50,10} {s.P99,10} {s.Max,10}"));
}
