using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlashWal.Format;
using FlashWal.Replication;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal restore &lt;nats-urls&gt; &lt;dir&gt; [--stream NAME] [--json]</c>: rebuilds a log from its
/// stream into an empty directory and verifies it. Exit 0 when the rebuilt log is intact, 1 when the
/// verifier finds damage, 2 on usage, network or I/O errors.
/// </summary>
internal static class RestoreCommand
{
    public static Command Build(TextWriter output, TextWriter error, CancellationToken stop)
    {
        var servers = new Argument<string>("servers") { Description = "NATS servers: nats://host:port, several separated by commas." };
        var directory = new Argument<string>("dir") { Description = "An empty or new directory to rebuild the log in." };
        var stream = new Option<string?>("--stream") { Description = "The stream to read (default: the only FLASHWAL_ stream on the servers)." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("restore", "Rebuild a log from its NATS JetStream stream into an empty directory, then verify it.")
        {
            servers, directory, stream, json,
        };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            var options = new ReplicationOptions { Servers = parse.GetRequiredValue(servers), Stream = parse.GetValue(stream) };
            RestoreReport report = LogRestore.Run(options, parse.GetRequiredValue(directory), stop);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    report.Directory,
                    report.Stream,
                    LogId = report.LogId.ToString(),
                    report.Messages,
                    report.Bytes,
                    report.Segments,
                    report.ClosedSegments,
                    report.LastEventId,
                    Seconds = report.Elapsed.TotalSeconds,
                    report.Verification.IsIntact,
                    report.Verification.Findings,
                }, Output.Json));
            }
            else
            {
                double seconds = Math.Max(report.Elapsed.TotalSeconds, 1e-9);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"restored log {report.LogId} from stream {report.Stream}: {report.Segments} segment(s), {report.ClosedSegments} closed, events up to {report.LastEventId}, into {report.Directory}"));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{report.Messages} message(s), {report.Bytes / 1e6:F1} MB in {seconds:F2} s ({report.Bytes / seconds / 1e9:F2} GB/s), verification included"));
                foreach (Finding finding in report.Verification.Findings)
                {
                    output.WriteLine(finding.ToString());
                }

                output.WriteLine(report.Verification.Verdict);
            }

            return VerifyCommand.ExitCode(report.Verification);
        }));
        return command;
    }
}
