using System.Management.Automation;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;
using FlashWal.Replication;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-WalReplication</c>: where the replication of running recorders stands (by name, wildcards
/// allowed, or piped): the shipper's state, the replicated watermark next to the committed one, the
/// lag in events and time, what was acknowledged, the last error. Recorders that are not replicated
/// write nothing (with -Verbose, a line).
/// </summary>
/// <remarks>A thin adapter over <see cref="LogShipper.GetStatus"/>.</remarks>
[Cmdlet(VerbsCommon.Get, "WalReplication", DefaultParameterSetName = NameSet)]
[OutputType(typeof(ReplicationStatus))]
public sealed class GetWalReplicationCommand : RecorderSelectionCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (NamedRecorder recorder in Selected())
        {
            if (ReplicationCmdlets.ShipperOf(recorder) is { } shipper)
            {
                WriteObject(shipper.GetStatus());
            }
            else
            {
                WriteVerbose($"The recorder '{recorder.Name}' is not replicated.");
            }
        }
    }
}
