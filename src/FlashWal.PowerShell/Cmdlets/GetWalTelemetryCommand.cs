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
public sealed class GetWalTelemetryCommand : RecorderSelectionCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (NamedRecorder recorder in Selected())
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
