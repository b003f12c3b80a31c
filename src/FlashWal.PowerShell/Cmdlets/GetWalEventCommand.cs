using System.Management.Automation;
using FlashWal.PowerShell.Internal;
using FlashWal.Reading;
using FlashWal.Recovery;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-WalEvent</c>: the events of WAL directories or segment files, one
/// <see cref="WalEventRecord"/> each (id, time, type, payload bytes, <c>Text</c> when the payload is
/// UTF-8 text, segment), selected by id range, type and count; with <c>-Wait</c>, follows a live log
/// as it is written, like <c>Get-Content -Wait</c>.
/// </summary>
/// <remarks>
/// A thin adapter over <see cref="WalEventReader"/> and <see cref="EventFilter"/>, which
/// <c>flashwal dump</c> reads with too: strict replay at rest (events up to the first damage, then a
/// <c>WalDataCorrupt</c> error naming file, offset and block), the tailer while following. Ctrl+C ends
/// a wait at once. <c>-First</c> counts per path, like <c>Get-Content -TotalCount</c>. With
/// <c>-Server</c>, reads a log's replica stream instead (<see cref="Replication.StreamEventReader"/>),
/// without restoring it.
/// </remarks>
[Cmdlet(VerbsCommon.Get, "WalEvent", DefaultParameterSetName = PathSet)]
[OutputType(typeof(WalEventRecord))]
public sealed class GetWalEventCommand : WalPathCmdlet
{
    /// <summary>The error id for arguments that select nothing (e.g. <c>-ToEventId</c> below <c>-FromEventId</c>).</summary>
    public const string FilterInvalidErrorId = "WalEventFilterInvalid";

    private EventFilter _filter = EventFilter.All;

    private const string ServerSet = "Server";

    /// <summary>Read the log from its replica stream on these NATS servers (nats://host:port, comma-separated) instead of from files.</summary>
    [Parameter(ParameterSetName = ServerSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Server { get; set; } = string.Empty;

    /// <summary>With -Server: the stream to read (default: the only FLASHWAL_ stream on the servers).</summary>
    [Parameter(ParameterSetName = ServerSet)]
    [ValidateNotNullOrEmpty]
    public string? Stream { get; set; }

    /// <summary>The first event id to read (the next one present when the log does not hold it).</summary>
    [Parameter]
    [ValidateRange(0L, long.MaxValue)]
    public long FromEventId { get; set; } = 1;

    /// <summary>The last event id to read (inclusive).</summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long? ToEventId { get; set; }

    /// <summary>Read at most this many events (of the types asked for) per path.</summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long? First { get; set; }

    /// <summary>Only events with these type tags.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public ushort[]? Type { get; set; }

    /// <summary>Follow the live log (a directory): each event is written as it is committed, until the recorder closes the log or goes away, -First or -ToEventId is reached, or Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        var filter = new EventFilter { FromEventId = FromEventId, ToEventId = ToEventId, First = First, Types = Type };
        try
        {
            filter.Validate();
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, FilterInvalidErrorId, ErrorCategory.InvalidArgument, filter));
        }

        _filter = filter;
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == ServerSet)
        {
            ReadStream();
            return;
        }

        foreach (string path in ResolvedPaths())
        {
            try
            {
                using WalEventReader reader = Wait.IsPresent ? WalEventReader.Follow(path, _filter) : WalEventReader.Open(path, _filter);
                while (reader.ReadNext(StopToken) is { } record)
                {
                    WriteObject(record);
                }

                reader.Dispose(); // at rest: the report is final
                WriteNotes(reader);
            }
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
            {
                return; // Ctrl+C: the pipeline is stopping
            }
            catch (Exception e) when (ItemErrors.IsItemError(e))
            {
                WriteItemError(e, path);
            }
        }
    }

    /// <summary>The events of a replica stream, each segment verified as it is rebuilt in memory.</summary>
    private void ReadStream()
    {
        if (Wait.IsPresent)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Wait follows a WAL directory; a replica stream is read at rest."), FilterInvalidErrorId, ErrorCategory.InvalidArgument, Server));
        }

        try
        {
            using var reader = Replication.StreamEventReader.Open(new Replication.ReplicationOptions { Servers = Server, Stream = Stream }, _filter, StopToken);
            long read = 0;
            while (reader.TryReadNext(out WalEvent e))
            {
                WriteObject(new WalEventRecord(e.EventId, e.TimestampUnixNs, e.Type, e.Payload.ToArray(), reader.Segment));
                read++;
            }

            WriteVerbose($"{reader.Stream}: {read} event(s)");
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, FilterInvalidErrorId, ErrorCategory.InvalidArgument, Stream));
        }
        catch (Errors.WalException e)
        {
            WriteError(RecorderCmdlets.Error(e, Server));
        }
    }

    /// <summary>How the reading ended, as verbose messages in recover's and dump's words.</summary>
    private void WriteNotes(WalEventReader reader)
    {
        if (reader.Report is { } report)
        {
            if (report.StartNote is { } note)
            {
                WriteVerbose(RecoveryText.Start(note));
            }

            WriteVerbose($"{reader.Path}: {reader.EventsRead} event(s); tail {RecoveryText.Tail(report)}");
        }
        else
        {
            string end = RecoveryText.FollowEnded(reader.TailerState) ?? "the events asked for were read";
            WriteVerbose($"{reader.Path}: {reader.EventsRead} event(s); {end}");
        }
    }
}
