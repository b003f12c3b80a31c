using System.Management.Automation;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.PowerShell.Internal;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Get-WalSegment</c>: the segments of WAL directories, or of single segment files, one
/// <see cref="SegmentInfo"/> each (index, state, events, first and last id, blocks, sizes, log id,
/// times).
/// </summary>
/// <remarks>
/// A thin adapter over <see cref="WalCatalog.OpenPath"/>: closed segments are described from their
/// summaries (a few kilobytes read each), the others scanned; <c>Test-WalSegment</c> verifies every
/// byte. What the catalog finds wrong with the set is written as verbose messages.
/// </remarks>
[Cmdlet(VerbsCommon.Get, "WalSegment", DefaultParameterSetName = PathSet)]
[OutputType(typeof(SegmentInfo))]
public sealed class GetWalSegmentCommand : WalPathCmdlet
{
    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string path in ResolvedPaths())
        {
            WalCatalog catalog;
            try
            {
                catalog = WalCatalog.OpenPath(path);
            }
            catch (Exception e) when (ItemErrors.IsItemError(e))
            {
                WriteItemError(e, path);
                continue;
            }

            foreach (Finding finding in catalog.Findings)
            {
                WriteVerbose(finding.ToString());
            }

            foreach (SegmentScan segment in catalog.Segments)
            {
                WriteObject(segment.ToInfo());
            }
        }
    }
}
