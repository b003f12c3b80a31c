using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Stop-WalRecorder</c>: commits, flushes and closes recorders (by name, wildcards allowed, or
/// piped) and takes them out of the registry; with <c>-PassThru</c> writes each one with its final
/// statistics.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "WalRecorder", DefaultParameterSetName = NameSet, SupportsShouldProcess = true)]
[OutputType(typeof(NamedRecorder))]
public sealed class StopWalRecorderCommand : PSCmdlet
{
    private const string NameSet = "Name";
    private const string RecorderSet = "Recorder";

    /// <summary>Names or wildcard patterns of the recorders to stop.</summary>
    /// <remarks>
    /// Not bound from a piped object's Name property: a piped recorder binds to <see cref="Recorder"/>,
    /// so that a stopped recorder object stops nothing, never a newer recorder that took its name.
    /// </remarks>
    [Parameter(ParameterSetName = NameSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>Recorder objects (from Start-WalRecorder or Get-WalRecorder).</summary>
    [Parameter(ParameterSetName = RecorderSet, Mandatory = true, ValueFromPipeline = true)]
    [Alias("InputObject")]
    [ValidateNotNull]
    public NamedRecorder[] Recorder { get; set; } = [];

    /// <summary>Write each stopped recorder, with its final statistics.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing() => RecorderCmdlets.StopRecordersOnModuleRemoval(this);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        IEnumerable<NamedRecorder> recorders = ParameterSetName == RecorderSet ? Recorder : RecorderCmdlets.Find(this, Name);
        foreach (NamedRecorder recorder in recorders)
        {
            if (recorder.State != RecorderState.Running)
            {
                WriteVerbose($"The recorder '{recorder.Name}' is stopped already.");
            }
            else if (ShouldProcess($"{recorder.Name} ({recorder.Path})", "Stop the recorder (commit, flush and close)"))
            {
                try
                {
                    recorder.Stop();
                }
                catch (WalRecorderCloseException e)
                {
                    WriteError(RecorderCmdlets.Error(e, recorder));
                }

                if (recorder.FailedEvents > 0)
                {
                    WriteWarning($"The recorder '{recorder.Name}' could not append {recorder.FailedEvents} event(s); they are not in the log.");
                }

                if (recorder.Shipper is not null && recorder.ReplicatedEventId < recorder.CommittedEventId)
                {
                    WriteWarning($"The log of '{recorder.Name}' is replicated up to event {recorder.ReplicatedEventId} of {recorder.CommittedEventId}: the stream did not acknowledge the rest before the shipper was stopped. They are in '{recorder.Path}'; 'flashwal replicate {recorder.Path} --to <servers>' ships them.");
                }
            }
            else
            {
                continue;
            }

            if (PassThru.IsPresent)
            {
                WriteObject(recorder);
            }
        }
    }
}
