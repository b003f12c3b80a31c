using System.Management.Automation;
using FlashWal.Hosting;

namespace FlashWal.PowerShell.Internal;

/// <summary>
/// The base of the cmdlets that act on running recorders chosen by <c>-Name</c> (wildcards; all by
/// default) or piped as objects (<c>-Recorder</c>): Get-WalTelemetry and Wait-WalRecorder.
/// </summary>
/// <remarks>Public because PowerShell binds the parameters of a cmdlet's base classes only when they are public.</remarks>
public abstract class RecorderSelectionCmdlet : PSCmdlet
{
    /// <summary>The parameter set of -Name.</summary>
    protected const string NameSet = "Name";

    /// <summary>The parameter set of -Recorder.</summary>
    protected const string RecorderSet = "Recorder";

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

    /// <summary>The recorders this input selects; names that match nothing are reported (see <see cref="RecorderCmdlets.Find"/>).</summary>
    protected IEnumerable<NamedRecorder> Selected() =>
        ParameterSetName == RecorderSet ? Recorder : RecorderCmdlets.Find(this, Name);

    /// <inheritdoc />
    protected override void BeginProcessing() => RecorderCmdlets.StopRecordersOnModuleRemoval(this);
}
