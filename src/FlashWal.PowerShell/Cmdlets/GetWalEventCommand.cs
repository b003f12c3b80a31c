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
/// a wait at once. <c>-First</c> counts per path, like <c>Get-Content -TotalCount</c>.
/// </remarks>
[Cmdlet(VerbsCommon.Get, "WalEvent", DefaultParameterSetName = PathSet)]
[OutputType(typeof(WalEventRecord))]
public sealed class GetWalEventCommand : WalPathCmdlet
{
    /// <summary>The error id for arguments that select nothing (e.g. <c>-ToEventId</c> below <c>-FromEventId</c>).</summary>
    public const string FilterInvalidErrorId = "WalEventFilterInvalid";

    private EventFilter _filter = EventFilter.All;

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
