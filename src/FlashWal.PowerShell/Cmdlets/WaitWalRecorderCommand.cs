using System.Diagnostics;
using System.Management.Automation;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Wait-WalRecorder</c>: waits until what was written to recorders is durable, or with
/// <c>-Replicated</c> replicated (everything submitted before the call, or up to an event id), within
/// <c>-Timeout</c>; Ctrl+C cancels.
/// </summary>
/// <remarks>A thin adapter over <see cref="NamedRecorder.WaitForDurable(TimeSpan, CancellationToken)"/>, its id overload and <see cref="NamedRecorder.WaitForReplicated"/>.</remarks>
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

    /// <summary>Wait until it is replicated (stored by a quorum of the stream's servers) rather than durable; for recorders started with -ReplicateTo.</summary>
    [Parameter]
    public SwitchParameter Replicated { get; set; }

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
            bool reached;
            try
            {
                reached = Replicated.IsPresent ? recorder.WaitForReplicated(EventId, left, _cancel.Token)
                    : EventId is long id ? recorder.WaitForDurable(id, left, _cancel.Token) : recorder.WaitForDurable(left, _cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return; // StopProcessing: the pipeline is being stopped
            }
            catch (Errors.WalException e)
            {
                WriteError(RecorderCmdlets.Error(e, recorder)); // not replicated, or replication stopped for good
                continue;
            }

            string level = Replicated.IsPresent ? "replicated" : "durable";
            long mark = Replicated.IsPresent ? recorder.ReplicatedEventId : recorder.DurableEventId;
            if (!reached)
            {
                string what = EventId is long target ? $"event {target}" : "everything written";
                string why = recorder.State == RecorderState.Running ? $"within {Timeout} second(s)" : "before it was stopped";
                WriteError(new ErrorRecord(
                    new TimeoutException($"The recorder '{recorder.Name}' did not make {what} {level} {why}; it is {level} up to event {mark}."),
                    RecorderCmdlets.WaitTimeoutErrorId,
                    ErrorCategory.OperationTimeout,
                    recorder));
                continue;
            }

            WriteVerbose($"The recorder '{recorder.Name}' is {level} up to event {mark}.");
            if (PassThru.IsPresent)
            {
                WriteObject(recorder);
            }
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _cancel.Cancel();
}
