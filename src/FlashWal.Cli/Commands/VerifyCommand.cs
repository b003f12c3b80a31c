using System.CommandLine;
using System.Text.Json;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Cli.Commands;

/// <summary><c>flashwal verify &lt;path&gt; [--json]</c>: exit 0 when intact, 1 when damage is found, 2 on usage or I/O errors.</summary>
internal static class VerifyCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var path = new Argument<string>("path") { Description = "A segment file or a WAL directory." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("verify", "Verify every byte of a segment or a WAL directory; print one line per finding.") { path, json };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            VerificationReport report = SegmentVerifier.Verify(parse.GetRequiredValue(path));
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    report.Path,
                    report.IsIntact,
                    report.HasTornTail,
                    report.HasErrors,
                    Segments = report.Segments.Count,
                    report.Events,
                    report.FirstEventId,
                    report.LastEventId,
                    report.Findings,
                }, Output.Json));
            }
            else
            {
                foreach (Finding finding in report.Findings)
                {
                    output.WriteLine(finding.ToString());
                }

                output.WriteLine(report.Verdict);
            }

            return ExitCode(report);
        }));
        return command;
    }

    /// <summary>The exit code of a verification (verify and inspect): 0 intact (a torn tail allowed), 1 damage, 2 a file that could not be read.</summary>
    internal static int ExitCode(VerificationReport report) =>
        report.HasErrors ? ExitCodes.UsageOrIo : report.IsIntact ? ExitCodes.Ok : ExitCodes.Damage;
}
