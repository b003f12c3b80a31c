using System.CommandLine;
using FlashWal.Cli.Commands;
using FlashWal.Recording;

namespace FlashWal.Cli;

/// <summary>The <c>flashwal</c> command-line tool: record, inspect, verify, recover, dump and repair WAL files from a shell.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the tool with the given arguments and writers; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, CancellationToken.None);

    /// <summary>
    /// Runs the tool with the given arguments and writers; <paramref name="stop"/> ends a command that
    /// runs until it is stopped (<c>dump --follow</c>) as Ctrl+C does, with exit code 0.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken stop) =>
        Run(args, output, error, recorderOptions: null, stop);

    /// <summary>
    /// Runs the tool with <paramref name="recorderOptions"/> applied to the options <c>record</c> opens
    /// its recorder with: a seam for tests (a disk whose syncs fail), not part of the tool.
    /// </summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error, Func<WalRecorderOptions, WalRecorderOptions>? recorderOptions, CancellationToken stop)
    {
        var root = new RootCommand("FlashWal: a write-ahead log for latency-critical event recording.")
        {
            InspectCommand.Build(output, error),
            VerifyCommand.Build(output, error),
            RecordCommand.Build(output, error, recorderOptions),
            RecoverCommand.Build(output, error),
            DumpCommand.Build(output, error, stop),
            RepairCommand.Build(output, error),
            ReplicateCommand.Build(output, error, stop),
            RestoreCommand.Build(output, error, stop),
        };

        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError e in parse.Errors)
            {
                error.WriteLine($"flashwal: {e.Message}");
            }

            error.WriteLine("Run 'flashwal --help' for usage.");
            return ExitCodes.UsageOrIo;
        }

        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }
}
