using System.CommandLine;
using FlashWal.Errors;
using FlashWal.Reading;
using FlashWal.Recovery;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal dump &lt;path&gt; [--from ID] [--count N] [--json] [--follow] [--mode strict|salvage]</c>:
/// prints events (id, time, type, length, payload as hex and, when it is text, as text), one a line,
/// from a WAL directory or one segment file, or follows a live log. Events go to stdout; notes, gaps
/// and damage to stderr, in <c>recover</c>'s words. Exit 0 when nothing was lost, 1 when damage or a
/// gap was met, 2 on usage or I/O errors.
/// </summary>
internal static class DumpCommand
{
    public static Command Build(TextWriter output, TextWriter error, CancellationToken stop)
    {
        var path = new Argument<string>("path") { Description = "A WAL directory, one segment file (.wal or .walz), or NATS servers (nats://host:port,...) to read a log's replica stream." };
        var stream = new Option<string?>("--stream") { Description = "With NATS servers: the stream to read (default: the only FLASHWAL_ stream on them)." };
        var from = new Option<long?>("--from") { Description = "The event id to start at (the next one present if it is not; default: the first).", CustomParser = r => Numbers.Whole<long>(r) };
        var count = new Option<long?>("--count") { Description = "Stop after this many events (at least 1).", CustomParser = r => Numbers.Whole<long>(r) };
        var json = new Option<bool>("--json") { Description = "One JSON object per line (JSON Lines): id, time, timeUnixNs, type, length, hex (the whole payload), text (null when not text)." };
        var follow = new Option<bool>("--follow") { Description = "Follow a live log (a directory): print each event as it is committed, until the recorder closes the log, --count is reached, or Ctrl+C." };
        var mode = new Option<string>("--mode") { Description = "strict: stop at the first damage or gap; salvage: print everything that verifies and report what was lost.", DefaultValueFactory = _ => "strict" };
        mode.AcceptOnlyFromAmong("strict", "salvage");
        var command = new Command("dump", "Print the events of a WAL directory or segment file (id, time, type, payload as hex and text), or follow a live log.")
        {
            path, from, count, json, follow, mode, stream,
        };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            long? start = parse.GetValue(from);
            long? limit = parse.GetValue(count);
            bool salvage = parse.GetValue(mode) == "salvage";
            if (start < 0)
            {
                return CommandErrors.Usage(error, "--from must not be negative.");
            }

            if (limit < 1)
            {
                return CommandErrors.Usage(error, "--count must be at least 1.");
            }

            // From 1, not the catalog's first id, when --from is not given: damage at the head of the log is then reported.
            var filter = new EventFilter { FromEventId = start ?? 1, First = limit };
            using var printer = new EventPrinter(output, parse.GetValue(json));
            if (IsServerList(parse.GetRequiredValue(path)))
            {
                return parse.GetValue(follow) || salvage
                    ? CommandErrors.Usage(error, "A replica stream is read at rest and strictly: --follow and --mode salvage read a WAL directory.")
                    : Remote(new Replication.ReplicationOptions { Servers = parse.GetRequiredValue(path), Stream = parse.GetValue(stream) }, filter, printer, error);
            }

            string full = Path.GetFullPath(parse.GetRequiredValue(path));
            if (parse.GetValue(follow))
            {
                if (File.Exists(full))
                {
                    return CommandErrors.Usage(error, $"--follow follows a WAL directory; '{full}' is a file.");
                }

                if (salvage)
                {
                    return CommandErrors.Usage(error, "--follow reads a live log, which ends at damage; --mode salvage is for a log at rest.");
                }

                return Follow(full, filter, printer, error, stop);
            }

            using WalEventReader reader = WalEventReader.Open(full, filter, salvage ? RecoveryMode.Salvage : RecoveryMode.Strict);
            return Replay(reader, start is not null, printer, error);
        }));
        return command;
    }

    /// <summary>Whether the path argument names NATS servers rather than a file or directory.</summary>
    private static bool IsServerList(string path) =>
        path.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("tls://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Prints the events of a log's replica stream, each segment verified as it is rebuilt in memory; damage ends it (exit 1).</summary>
    private static int Remote(Replication.ReplicationOptions options, EventFilter filter, EventPrinter printer, TextWriter error)
    {
        using var reader = Replication.StreamEventReader.Open(options, filter);
        try
        {
            while (reader.TryReadNext(out WalEvent e))
            {
                printer.Print(e);
            }
        }
        catch (WalCorruptionException damage)
        {
            printer.Flush();
            error.WriteLine(RecoveryText.Damage(damage.Finding));
            error.WriteLine(RecoveryText.Stopped(damage.Finding));
            return ExitCodes.Damage;
        }

        printer.Flush();
        return ExitCodes.Ok;
    }

    /// <summary>Prints the log at rest; what was met on the way goes to <paramref name="error"/> at the end.</summary>
    private static int Replay(WalEventReader reader, bool fromGiven, EventPrinter printer, TextWriter error)
    {
        try
        {
            while (reader.TryReadNext(out WalEvent e))
            {
                printer.Print(e);
            }
        }
        catch (WalCorruptionException)
        {
            // strict mode stopped: the report holds the finding
        }

        printer.Flush();
        reader.Dispose(); // stops a replay that --count cut short: the report is final
        RecoveryReport report = reader.Report!;
        if (report.StartNote is { } note && (fromGiven || reader.EventsRead == 0))
        {
            error.WriteLine(RecoveryText.Start(note)); // without --from, "event 1 precedes the log" is no news
        }

        foreach (LostRange gap in report.Gaps)
        {
            error.WriteLine(RecoveryText.Gap(gap));
        }

        foreach (Format.Finding damage in report.Damage)
        {
            error.WriteLine(RecoveryText.Damage(damage));
        }

        if (report.Tail == LogEnd.TornTail)
        {
            error.WriteLine("tail: " + RecoveryText.Tail(report)); // not damage: never committed
        }

        if (!RecoveryText.FoundDamage(report))
        {
            return ExitCodes.Ok;
        }

        error.WriteLine(RecoveryText.Verdict(report));
        return ExitCodes.Damage;
    }

    /// <summary>
    /// Prints each event of a live log as it is committed, flushed at once, until the recorder closes
    /// the log or goes away, the filter's count is reached, or Ctrl+C / <paramref name="stop"/>.
    /// </summary>
    private static int Follow(string directory, EventFilter filter, EventPrinter printer, TextWriter error, CancellationToken stop)
    {
        using WalEventReader reader = WalEventReader.Follow(directory, filter);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            e.Cancel = true; // end the dump, not the process: what was printed stays whole
            try
            {
                cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the dump has just ended on its own
            }
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            while (reader.TryReadNext(out WalEvent e, cancel.Token))
            {
                printer.Print(e);
                printer.Flush(); // a pipe sees each event as it comes
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return ExitCodes.Ok; // Ctrl+C
        }
        catch (WalCorruptionException damage)
        {
            printer.Flush();
            error.WriteLine(RecoveryText.Damage(damage.Finding));
            error.WriteLine(RecoveryText.Stopped(damage.Finding));
            return ExitCodes.Damage;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }

        if (RecoveryText.FollowEnded(reader.TailerState) is { } ended)
        {
            error.WriteLine("note: " + ended);
        }

        return ExitCodes.Ok;
    }
}
