using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlashWal.Inspection;

namespace FlashWal.Cli.Commands;

/// <summary><c>flashwal inspect &lt;path&gt;</c>: a table of segments.</summary>
internal static class InspectCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var path = new Argument<string>("path") { Description = "A segment file or a WAL directory." };
        var json = new Option<bool>("--json") { Description = "Print the segments as JSON." };
        var command = new Command("inspect", "List the segments of a WAL directory (or one file): index, state, events, ids, size.") { path, json };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            VerificationReport report = SegmentVerifier.Verify(parse.GetRequiredValue(path));
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(report.Segments, Output.Json));
                return VerifyCommand.ExitCode(report);
            }

            string[] headers = ["INDEX", "STATE", "EVENTS", "FIRST ID", "LAST ID", "BLOCKS", "USED", "CAPACITY", "FILE"];
            var rows = report.Segments.Select(s => (IReadOnlyList<string>)
            [
                s.Index >= 0 ? s.Index.ToString("x16", CultureInfo.InvariantCulture) : "?",
                s.State.ToString(),
                s.Events.ToString(CultureInfo.InvariantCulture),
                s.FirstEventId.ToString(CultureInfo.InvariantCulture),
                s.LastEventId.ToString(CultureInfo.InvariantCulture),
                s.Blocks.ToString(CultureInfo.InvariantCulture),
                ByteSize.Format(s.DataBytes),
                ByteSize.Format(s.Capacity),
                Path.GetFileName(s.Path),
            ]);
            Output.Table(output, headers, rows, new HashSet<int> { 2, 3, 4, 5, 6, 7 });
            output.WriteLine(report.Verdict);
            return VerifyCommand.ExitCode(report); // the verdict and the exit code of verify: inspect reads every byte too
        }));
        return command;
    }
}
