using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;
using FlashWal.Telemetry;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-WalTelemetry</c>: a snapshot of running recorders' measurements (latency percentiles,
/// rotations, preparer misses, durable lag), one <see cref="RecorderTelemetrySnapshot"/> each, with
/// the recorder's name added as a <c>Name</c> property.
/// </summary>
[Cmdlet(VerbsCommon.Get, "WalTelemetry", DefaultParameterSetName = NameSet)]
[OutputType(typeof(RecorderTelemetrySnapshot))]
public sealed class GetWalTelemetryCommand : PSCmdlet
{
    private const string NameSet = "Name";
    private const string RecorderSet = "Recorder";

    /// <summary>Names or wildcard patterns; all running recorders when not given.</summary>
    [Parameter(ParameterSetName = NameSet, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Recorder objects (from Start-WalRecorder or Get-WalRecorder).</summary>
    [Parameter(ParameterSetName = RecorderSet, Mandatory = true, ValueFromPipeline = true)]
    [Alias("InputObject")]
    [ValidateNotNull]
    public NamedRecorder[] Recorder { get; set; } = [];

    /// <inheritdoc />
    protected override void BeginProcessing() => RecorderCmdlets.StopRecordersOnModuleRemoval(this);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        IEnumerable<NamedRecorder> recorders = ParameterSetName == RecorderSet ? Recorder : RecorderCmdlets.Find(this, Name);
        foreach (NamedRecorder recorder in recorders)
        {
            RecorderTelemetrySnapshot snapshot;
            try
            {
                snapshot = recorder.GetTelemetry();
            }
            catch (WalRecorderStoppedException e)
            {
                WriteError(RecorderCmdlets.Error(e, recorder));
                continue;
            }

            var output = new PSObject(snapshot);
            output.Properties.Add(new PSNoteProperty("Name", recorder.Name));
            WriteObject(output);
        }
    }
}
