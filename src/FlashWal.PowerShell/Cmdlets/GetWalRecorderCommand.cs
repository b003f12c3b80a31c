using System.Management.Automation;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary><c>Get-WalRecorder</c>: the running recorders of the process, by name (wildcards allowed), with live statistics.</summary>
[Cmdlet(VerbsCommon.Get, "WalRecorder")]
[OutputType(typeof(NamedRecorder))]
public sealed class GetWalRecorderCommand : PSCmdlet
{
    /// <summary>Names or wildcard patterns; all recorders when not given.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = ["*"];

    /// <inheritdoc />
    protected override void BeginProcessing() => RecorderCmdlets.StopRecordersOnModuleRemoval(this);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (NamedRecorder recorder in RecorderCmdlets.Find(this, Name))
        {
            WriteObject(recorder);
        }
    }
}
