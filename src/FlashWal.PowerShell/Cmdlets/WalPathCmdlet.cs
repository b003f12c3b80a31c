using System.Management.Automation;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// What the cmdlets that read WAL paths share: <c>-Path</c> (wildcards, pipeline by value) and
/// <c>-LiteralPath</c> (alias <c>PSPath</c>, pipeline by property name, so that
/// <c>Get-ChildItem *.wal | …</c> binds each file), resolved against PowerShell's location; the
/// non-terminating error for a failed item; and a token that <see cref="StopProcessing"/> (Ctrl+C,
/// or a pipeline that stops) cancels, which ends any wait.
/// </summary>
public abstract class WalPathCmdlet : PSCmdlet, IDisposable
{
    /// <summary>The parameter set of <see cref="Path"/>.</summary>
    protected const string PathSet = "Path";

    /// <summary>The parameter set of <see cref="LiteralPath"/>.</summary>
    protected const string LiteralPathSet = "LiteralPath";

    private readonly CancellationTokenSource _stop = new();

    /// <summary>WAL directories or segment files; wildcards are expanded.</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    /// <summary>WAL directories or segment files, used exactly as written (no wildcards).</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>Cancelled when PowerShell stops the command.</summary>
    protected CancellationToken StopToken => _stop.Token;

    /// <summary>Releases the stop token.</summary>
    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The full file-system paths of this record's <see cref="Path"/> or <see cref="LiteralPath"/>; what resolves to nothing is reported as an error.</summary>
    protected IEnumerable<string> ResolvedPaths()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        return PathResolver.Resolve(this, literal ? LiteralPath : Path, literal);
    }

    /// <summary>Writes the non-terminating error for a failed item (<see cref="ItemErrors.Record"/>).</summary>
    protected void WriteItemError(Exception exception, string path) => WriteError(ItemErrors.Record(exception, path));

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the command has just ended on its own
        }
    }
}
