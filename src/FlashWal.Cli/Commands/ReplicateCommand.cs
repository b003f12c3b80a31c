using System.CommandLine;
using System.Globalization;
using FlashWal.Replication;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal replicate &lt;dir&gt; --to &lt;nats-urls&gt; [--stream NAME] [--follow]</c>: ships a log,
/// live or closed, to a JetStream stream, printing <c>replicated &lt;id&gt;</c> as the watermark advances.
/// Exit 0 once the log has ended and everything is acknowledged (or, following, on Ctrl+C), 2 when
/// the target is refused or shipping fails for good.
/// </summary>
internal static class ReplicateCommand
{
    public static Command Build(TextWriter output, TextWriter error, CancellationToken stop)
    {
        var directory = new Argument<string>("dir") { Description = "The WAL directory (its recorder may be running)." };
        var to = new Option<string>("--to") { Description = "NATS servers: nats://host:port, several separated by commas.", Required = true };
        var target = ReplicationSwitches.Create();
        var follow = new Option<bool>("--follow") { Description = "Keep shipping when the log ends (a later recorder continues it), until Ctrl+C." };
        var command = new Command("replicate", "Ship a log, live or closed, to a NATS JetStream stream (replicas 3), resuming from what the stream holds.")
        {
            directory, to, follow,
        };
        target.AddTo(command);
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            ReplicationOptions options = target.Options(parse, parse.GetRequiredValue(to));
            using LogShipper shipper = LogShipper.Start(parse.GetRequiredValue(directory), options, follow: parse.GetValue(follow));
            TextWriter stdout = TextWriter.Synchronized(output);
            stdout.WriteLine($"shipping log {shipper.LogId} to stream {shipper.Stream} at {options.Servers}, from event {shipper.Mark.EventId + 1}");
            using (new WatermarkReporter("replicated", () => shipper.Mark.EventId, (id, stop) => shipper.Mark.Wait(id, TimeSpan.FromMilliseconds(50), stop), stdout))
            {
                try
                {
                    shipper.Completion.Wait(stop);
                }
                catch (OperationCanceledException)
                {
                }
            }

            ReplicationStatus status = shipper.GetStatus();
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{status.State}: replicated up to {status.ReplicatedEventId}; {status.Messages} message(s), {status.Bytes} bytes acknowledged; {status.Resyncs} resync(s)"));
            if (status.State == ShipperState.Failed)
            {
                error.WriteLine($"flashwal: {status.LastError}");
                return ExitCodes.UsageOrIo;
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
