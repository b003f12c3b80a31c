using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Hosting;
using FlashWal.Replication;

namespace FlashWal.PowerShell.Internal;

/// <summary>What the replication cmdlets share: starting a recorder's shipper, finding it again.</summary>
internal static class ReplicationCmdlets
{
    /// <summary>
    /// Starts shipping <paramref name="recorder"/>'s log to <paramref name="target"/>; when the target
    /// is refused, writes the error and stops the recorder again, so that a recorder asked to be
    /// replicated never runs unreplicated. True when it ships.
    /// </summary>
    public static bool Start(PSCmdlet cmdlet, NamedRecorder recorder, ReplicationOptions target)
    {
        try
        {
            recorder.Replicate(mark => LogShipper.Start(recorder.Path, target, mark, () => recorder.CommittedEventId));
            return true;
        }
        catch (WalException e)
        {
            cmdlet.WriteError(RecorderCmdlets.Error(e, recorder.Path));
            recorder.Stop();
            return false;
        }
    }

    /// <summary>The shipper of <paramref name="recorder"/>, when its log is replicated.</summary>
    public static LogShipper? ShipperOf(NamedRecorder recorder) => recorder.Shipper as LogShipper;
}
