using System.Diagnostics;
using System.Management.Automation;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Wait-WalRecorder</c>: waits until what was written to recorders is durable (everything
/// submitted before the call, or up to an event id), within <c>-Timeout</c>; Ctrl+C cancels.
/// </summary>
/// <remarks>A thin adapter over <see cref="NamedRecorder.WaitForDurable(TimeSpan, CancellationToken)"/> and its id overload.</remarks>
[Cmdlet(VerbsLifecycle.Wait, "WalRecorder", DefaultParameterSetName = NameSet)]
[OutputType(typeof(NamedRecorder))]
public sealed class WaitWalRecorderCommand : RecorderSelectionCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly Stopwatch _clock = new();

    /// <summary>Wait until this event is durable (it may not have been written yet); by default, everything written before the call.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long? EventId { get; set; }

    /// <summary>Seconds to wait at most, for all the recorders together; -1 (the default) waits as long as it takes.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Write each recorder once its wait is over.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    public void Dispose() => _cancel.Dispose();

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        _clock.Start();
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (NamedRecorder recorder in Selected())
        {
            TimeSpan left = RecorderCmdlets.Left(RecorderCmdlets.Seconds(Timeout), _clock);
            bool durable;
            try
            {
                durable = EventId is long id ? recorder.WaitForDurable(id, left, _cancel.Token) : recorder.WaitForDurable(left, _cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return; // StopProcessing: the pipeline is being stopped
            }

            if (!durable)
            {
                string what = EventId is long target ? $"event {target}" : "everything written";
                string why = recorder.State == RecorderState.Running ? $"within {Timeout} second(s)" : "before it was stopped";
                WriteError(new ErrorRecord(
                    new TimeoutException($"The recorder '{recorder.Name}' did not make {what} durable {why}; it is durable up to event {recorder.DurableEventId}."),
                    RecorderCmdlets.WaitTimeoutErrorId,
                    ErrorCategory.OperationTimeout,
                    recorder));
                continue;
            }

            WriteVerbose($"The recorder '{recorder.Name}' is durable up to event {recorder.DurableEventId}.");
            if (PassThru.IsPresent)
            {
                WriteObject(recorder);
            }
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _cancel.Cancel();
}
