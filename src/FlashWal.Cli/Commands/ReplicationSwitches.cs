using System.CommandLine;
using FlashWal.Replication;

namespace FlashWal.Cli.Commands;

/// <summary>The options every replication command shares (the stream, the replicas), bound to <see cref="ReplicationOptions"/> in one place.</summary>
internal sealed class ReplicationSwitches
{
    private readonly Option<string?> _stream = new("--stream") { Description = "The stream's name (default: FLASHWAL_ and the log id)." };
    private readonly Option<int> _replicas = new("--replicas") { Description = "Servers that hold the stream (1 to 5) when it is created.", DefaultValueFactory = _ => 3, CustomParser = Numbers.Whole<int> };

    public static ReplicationSwitches Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_stream);
        command.Options.Add(_replicas);
    }

    /// <summary>The options, validated: a bad URL or number is an error that names it.</summary>
    public ReplicationOptions Options(ParseResult parse, string servers)
    {
        var options = new ReplicationOptions { Servers = servers, Stream = parse.GetValue(_stream), Replicas = parse.GetValue(_replicas) };
        options.Validate();
        return options;
    }
}
