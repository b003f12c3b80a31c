using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.PowerShell.Internal;
using FlashWal.Replication;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Restore-WalLog</c>: rebuilds a log from its NATS JetStream stream into an empty directory and
/// verifies it; writes the <see cref="RestoreReport"/>. A rebuilt log that the verifier finds damaged
/// is a non-terminating <c>WalRestoreDamaged</c> error after the report.
/// </summary>
/// <remarks>A thin adapter over <see cref="LogRestore.Run"/>.</remarks>
[Cmdlet(VerbsData.Restore, "WalLog", SupportsShouldProcess = true)]
[OutputType(typeof(RestoreReport))]
public sealed class RestoreWalLogCommand : PSCmdlet, IDisposable
{
    /// <summary>The error id for a rebuilt log that does not verify intact.</summary>
    public const string DamagedErrorId = "WalRestoreDamaged";

    /// <summary>The error id for a -Stream name NATS does not take.</summary>
    public const string OptionInvalidErrorId = "WalRestoreOptionInvalid";

    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The NATS servers: nats://host:port, several separated by commas.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Server { get; set; } = string.Empty;

    /// <summary>An empty or new directory to rebuild the log in. No wildcards.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("PSPath", "LiteralPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The stream to read (default: the only FLASHWAL_ stream on the servers).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Stream { get; set; }

    /// <inheritdoc />
    public void Dispose() => _cancel.Dispose();

    /// <inheritdoc />
    protected override void StopProcessing() => _cancel.Cancel();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string? directory = PathResolver.Resolve(this, [Path], literal: true).FirstOrDefault();
        if (directory is null || !ShouldProcess(directory, $"Rebuild the log of stream '{Stream ?? "(the only FlashWal stream)"}' at {Server}"))
        {
            return;
        }

        RestoreReport report;
        try
        {
            report = LogRestore.Run(new ReplicationOptions { Servers = Server, Stream = Stream }, directory, _cancel.Token);
        }
        catch (WalException e)
        {
            WriteError(RecorderCmdlets.Error(e, directory));
            return;
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, OptionInvalidErrorId, ErrorCategory.InvalidArgument, Stream));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(RecorderCmdlets.Error(new WalDirectoryNotWritableException(directory, e), directory)); // a full disk, a directory that cannot be written
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        WriteObject(report);
        if (!report.Verification.IsIntact)
        {
            WriteError(new ErrorRecord(new WalException($"The log rebuilt in '{directory}' from stream '{report.Stream}' is not intact: {report.Verification.Verdict}", directory),
                DamagedErrorId, ErrorCategory.InvalidData, directory));
        }
    }
}
