using System.Management.Automation;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Test-WalSegment</c>: verifies WAL segment files or WAL directories. By default it writes one
/// <see cref="bool"/> per path (true when intact, so a CI gate is one <c>if</c>); with
/// <c>-Detailed</c> it writes the engine's <see cref="VerificationReport"/> instead.
/// </summary>
/// <remarks>
/// A thin adapter over <see cref="SegmentVerifier.Verify(string)"/>: what is intact, damaged or
/// torn is decided there. A torn tail (what a crash leaves) is intact.
/// </remarks>
[Cmdlet(VerbsDiagnostic.Test, "WalSegment", DefaultParameterSetName = PathSet)]
[OutputType(typeof(bool), ParameterSetName = [PathSet, LiteralPathSet])]
[OutputType(typeof(VerificationReport), ParameterSetName = [PathDetailedSet, LiteralPathDetailedSet])]
public sealed class TestWalSegmentCommand : PSCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private const string PathDetailedSet = "PathDetailed";
    private const string LiteralPathDetailedSet = "LiteralPathDetailed";

    /// <summary>Segment files or WAL directories; wildcards are expanded.</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = PathDetailedSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    /// <summary>Segment files or WAL directories, used exactly as written (no wildcards).</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = LiteralPathDetailedSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>Write the verification report (segments and findings) instead of a boolean.</summary>
    [Parameter(ParameterSetName = PathDetailedSet, Mandatory = true)]
    [Parameter(ParameterSetName = LiteralPathDetailedSet, Mandatory = true)]
    public SwitchParameter Detailed { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName is LiteralPathSet or LiteralPathDetailedSet;
        foreach (string path in PathResolver.Resolve(this, literal ? LiteralPath : Path, literal))
        {
            VerificationReport report;
            try
            {
                report = SegmentVerifier.Verify(path);
            }
            catch (Exception e) when (ItemErrors.IsItemError(e))
            {
                WriteError(ItemErrors.Record(e, path));
                continue;
            }

            WriteVerbose($"{report.Path}: {report.Verdict}");
            foreach (Finding finding in report.Findings)
            {
                WriteVerbose(finding.ToString());
            }

            if (Detailed.IsPresent)
            {
                WriteObject(report);
            }
            else
            {
                WriteObject(report.IsIntact);
            }
        }
    }
}
