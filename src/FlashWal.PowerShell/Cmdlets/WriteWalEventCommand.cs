using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;
using FlashWal.Recording;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Write-WalEvent</c>: appends the input objects to a running recorder, one event each. Byte
/// arrays are written as they are, strings as UTF-8, primitive values as their text
/// (<see cref="EventPayload"/> decides), any object as JSON with <c>-AsJson</c> (PowerShell's own
/// <c>ConvertTo-Json</c>).
/// </summary>
/// <remarks>
/// By default nothing waits: each event is queued for the recorder's writer thread, which commits
/// and flushes in groups, so a pipeline of 100,000 events costs no flush per event. <c>-Wait</c> and
/// <c>-PassThru</c> track the events (<see cref="EventSubmissions"/>) and wait once, at the end of
/// the pipeline, for those not yet there.
/// </remarks>
[Cmdlet(VerbsCommunications.Write, "WalEvent", DefaultParameterSetName = NameSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(long))]
public sealed class WriteWalEventCommand : PSCmdlet, IDisposable
{
    /// <summary>The error id for a string with no UTF-8 form (a lone surrogate).</summary>
    public const string PayloadInvalidErrorId = "WalEventPayloadInvalid";

    /// <summary>The error id for an object deeper than -Depth, whose JSON would be truncated.</summary>
    public const string JsonTruncatedErrorId = "WalEventJsonTruncated";

    private const string NameSet = "Name";
    private const string RecorderSet = "Recorder";

    /// <summary>At most this many tracked events wait before the pipeline waits for the oldest.</summary>
    private const int MaxPending = 1 << 16;

    /// <summary>ConvertTo-Json, with its truncation warning sent to the output (3>&amp;1) whatever $WarningPreference says.</summary>
    private const string JsonScript =
        "param($InputObject, $Depth) Microsoft.PowerShell.Utility\\ConvertTo-Json -InputObject $InputObject -Depth $Depth -Compress -WarningAction Continue 3>&1";

    private readonly CancellationTokenSource _cancel = new();
    private EventSubmissions _submissions = new(SubmitWait.None, reportIds: false);
    private NamedRecorder? _named;
    private ScriptBlock? _jsonScript;

    /// <summary>The event: a byte array, a string, a primitive value, or with -AsJson any object.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString]
    [AllowEmptyCollection]
    public object InputObject { get; set; } = null!;

    /// <summary>The name of the running recorder to write to (no wildcards).</summary>
    [Parameter(ParameterSetName = NameSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>The recorder object to write to (from Start-WalRecorder or Get-WalRecorder).</summary>
    [Parameter(ParameterSetName = RecorderSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public NamedRecorder Recorder { get; set; } = null!;

    /// <summary>The event type stored with each event (0 to 65535).</summary>
    [Parameter]
    public ushort Type { get; set; }

    /// <summary>Write each input object as its JSON (ConvertTo-Json -Compress) in UTF-8.</summary>
    [Parameter]
    public SwitchParameter AsJson { get; set; }

    /// <summary>With -AsJson: how many levels of contained objects are written (ConvertTo-Json's -Depth).</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int Depth { get; set; } = 2;

    /// <summary>What to wait for before the cmdlet returns: None (the default), Committed, Durable or Replicated (a recorder started with -ReplicateTo).</summary>
    [Parameter]
    [ValidateSet(nameof(SubmitWait.None), nameof(SubmitWait.Committed), nameof(SubmitWait.Durable), nameof(SubmitWait.Replicated))]
    public SubmitWait Wait { get; set; } = SubmitWait.None;

    /// <summary>Write each event's id, in input order, once it reached what -Wait asks.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Seconds the waits of -Wait and -PassThru may take at the end of the pipeline; -1 (the default): no limit.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <inheritdoc />
    public void Dispose()
    {
        _cancel.Dispose();
    }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        RecorderCmdlets.StopRecordersOnModuleRemoval(this);
        _submissions = new EventSubmissions(Wait, PassThru.IsPresent);
        if (ParameterSetName == NameSet)
        {
            if (!RecorderCmdlets.Registry.TryGet(Name, out NamedRecorder recorder))
            {
                // Nothing can be written: every input would fail the same way.
                ThrowTerminatingError(RecorderCmdlets.Error(new WalRecorderNotFoundException(Name), Name));
            }

            _named = recorder;
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        NamedRecorder recorder = _named ?? Recorder;
        byte[]? payload = Payload();
        if (payload is null || !ShouldProcess(recorder.Name, $"Write an event of {payload.Length} byte(s), type {Type}"))
        {
            return;
        }

        try
        {
            _submissions.Submit(recorder, payload, Type, InputObject);
        }
        catch (WalException e)
        {
            WriteError(RecorderCmdlets.Error(e, InputObject));
            return;
        }

        while (_submissions.TryTakeCompleted(out SubmissionOutcome outcome))
        {
            Report(outcome);
        }

        if (_submissions.Pending > MaxPending)
        {
            // The recorder is far behind what was asked (a stalled disk): wait for the oldest.
            WaitForPending(RecorderCmdlets.Seconds(Timeout), stopAfter: _submissions.Pending - MaxPending);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        WaitForPending(RecorderCmdlets.Seconds(Timeout), stopAfter: int.MaxValue);
        foreach (WalEventNotAppendedException lost in _submissions.FailuresSinceStart())
        {
            WriteError(RecorderCmdlets.Error(lost, lost.Path));
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _cancel.Cancel();

    private void WaitForPending(TimeSpan timeout, int stopAfter)
    {
        var clock = Stopwatch.StartNew();
        for (int taken = 0; taken < stopAfter && _submissions.Pending > 0; taken++)
        {
            SubmissionOutcome outcome;
            try
            {
                if (!_submissions.TryTakeNext(RecorderCmdlets.Left(timeout, clock), _cancel.Token, out outcome))
                {
                    IReadOnlyList<object?> late = _submissions.Abandon();
                    WriteError(new ErrorRecord(
                        new TimeoutException($"{late.Count} event(s) were not {_submissions.Wait.ToString().ToLowerInvariant()} within {Timeout} second(s); they stay queued and the recorder goes on with them."),
                        RecorderCmdlets.WaitTimeoutErrorId,
                        ErrorCategory.OperationTimeout,
                        late.Count > 0 ? late[0] : null));
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return; // StopProcessing: the pipeline is being stopped
            }

            Report(outcome);
        }
    }

    private void Report(SubmissionOutcome outcome)
    {
        if (outcome.Error is not null)
        {
            WriteError(RecorderCmdlets.Error(outcome.Error, outcome.Tag));
        }
        else if (PassThru.IsPresent)
        {
            WriteObject(outcome.EventId);
        }
    }

    /// <summary>The input's payload, or null when it has none (the error is written).</summary>
    private byte[]? Payload()
    {
        try
        {
            if (AsJson.IsPresent)
            {
                return Json() is { } json ? EventPayload.FromText(json) : null;
            }

            return EventPayload.From(InputObject is PSObject wrapped ? wrapped.BaseObject : InputObject);
        }
        catch (WalPayloadTypeException e)
        {
            WriteError(RecorderCmdlets.Error(e, InputObject));
        }
        catch (ArgumentException e)
        {
            WriteError(new ErrorRecord(e, PayloadInvalidErrorId, ErrorCategory.InvalidData, InputObject));
        }

        return null;
    }

    /// <summary>
    /// The input as ConvertTo-Json writes it (compressed), so that an event holds what a PowerShell
    /// user sees from ConvertTo-Json: PSObject properties, hashtables, enums as numbers, dates in ISO
    /// 8601. A truncation (deeper than -Depth), which ConvertTo-Json only warns about, is an error here:
    /// a log does not keep a silently cut record.
    /// </summary>
    private string? Json()
    {
        // A script block made once and run in a local scope: about what ConvertTo-Json costs from a
        // script (a nested PowerShell instance per object cost four times as much).
        _jsonScript ??= ScriptBlock.Create(JsonScript);
        Collection<PSObject> result;
        try
        {
            result = InvokeCommand.InvokeScript(true, _jsonScript, null, InputObject, Depth);
        }
        catch (RuntimeException e)
        {
            WriteError(new ErrorRecord(e.ErrorRecord, e));
            return null;
        }

        if (result.Select(r => r?.BaseObject).OfType<WarningRecord>().FirstOrDefault() is { } truncated)
        {
            WriteError(new ErrorRecord(
                new InvalidDataException($"The object is deeper than -Depth {Depth}: its JSON would be cut ({truncated.Message}). Give a larger -Depth, or select the properties to write."),
                JsonTruncatedErrorId,
                ErrorCategory.LimitsExceeded,
                InputObject));
            return null;
        }

        return result.Count == 1 && result[0]?.BaseObject is string json ? json : null;
    }
}
