using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Hosting;
using FlashWal.PowerShell.Internal;
using FlashWal.Recording;
using FlashWal.Replication;
using FlashWal.Threading;

namespace FlashWal.PowerShell.Cmdlets;

/// <summary>
/// <c>Start-WalRecorder</c>: opens (or creates) a WAL directory with a <see cref="WalRecorderHost"/>
/// and registers it under a name in the process's <see cref="RecorderRegistry"/>; writes the live
/// <see cref="NamedRecorder"/>.
/// </summary>
/// <remarks>A thin adapter over <see cref="RecorderRegistry.Start"/>: names, locking and options are judged there.</remarks>
[Cmdlet(VerbsLifecycle.Start, "WalRecorder", SupportsShouldProcess = true)]
[OutputType(typeof(NamedRecorder))]
public sealed class StartWalRecorderCommand : PSCmdlet
{
    /// <summary>The error id for an option out of range.</summary>
    public const string OptionInvalidErrorId = "WalRecorderOptionInvalid";

    /// <summary>The WAL directory (created when missing). No wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LiteralPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The recorder's name; the directory's name when not given.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Size of each segment file in bytes (a multiple of 4096; 64MB by default).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long? SegmentSize { get; set; }

    /// <summary>Largest block in bytes (a power of two from 4KB to 16MB); bounds the largest event.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? BlockSize { get; set; }

    /// <summary>When committed events are flushed: None, Interval (the default) or EveryCommit.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DurabilityPolicy? Durability { get; set; }

    /// <summary>How often the Interval policy flushes (1 ms to 1 hour; 10 ms by default).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public TimeSpan? SyncInterval { get; set; }

    /// <summary>Retention: keep at most this many segments (at least 2).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? MaxSegments { get; set; }

    /// <summary>Retention: keep at most this many bytes of segment files.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long? MaxBytes { get; set; }

    /// <summary>Retention: delete closed segments older than this.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public TimeSpan? MaxAge { get; set; }

    /// <summary>Compress closed segments once this many newer ones exist (0: as soon as they close).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? CompressAfter { get; set; }

    /// <summary>Pin the writer thread to this core (Linux).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? WriterCore { get; set; }

    /// <summary>Cores the background threads may run on (Linux).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int[]? BackgroundCores { get; set; }

    /// <summary>Nice value of the background threads, 0 to 19 (Linux).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? BackgroundNice { get; set; }

    /// <summary>Replicate the log as it is recorded to these NATS servers (nats://host:port, comma-separated): a JetStream stream with three replicas.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ReplicateTo { get; set; }

    /// <summary>With -ReplicateTo: the stream's name (default: FLASHWAL_ and the log id).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Stream { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing() => RecorderCmdlets.StopRecordersOnModuleRemoval(this);

    /// <summary>The replication target of this input, checked; null without -ReplicateTo. A bad one ends the pipeline.</summary>
    private ReplicationOptions? Target()
    {
        if (ReplicateTo is not { } servers)
        {
            return null;
        }

        try
        {
            var target = new ReplicationOptions { Servers = servers, Stream = Stream };
            target.Validate();
            return target;
        }
        catch (WalException e)
        {
            ThrowTerminatingError(RecorderCmdlets.Error(e, servers));
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, OptionInvalidErrorId, ErrorCategory.InvalidArgument, servers));
        }

        return null; // not reached: ThrowTerminatingError throws
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string? directory = PathResolver.Resolve(this, [Path], literal: true).FirstOrDefault();
        if (directory is null)
        {
            return; // not on the file system: reported
        }

        string name = Name ?? RecorderRegistry.DefaultName(directory);
        ReplicationOptions? replication = Target();
        if (!ShouldProcess(directory, $"Start the recorder '{name}' (creates the directory if it does not exist)"))
        {
            return;
        }

        NamedRecorder recorder;
        try
        {
            recorder = RecorderCmdlets.Registry.Start(name, directory, Options());
        }
        catch (WalException e)
        {
            WriteError(RecorderCmdlets.Error(e, directory));
            return;
        }
        catch (ArgumentOutOfRangeException e)
        {
            WriteError(new ErrorRecord(e, OptionInvalidErrorId, ErrorCategory.InvalidArgument, directory));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(RecorderCmdlets.Error(new WalDirectoryNotWritableException(directory, e), directory));
            return;
        }

        if (replication is { } target && !ReplicationCmdlets.Start(this, recorder, target))
        {
            return; // refused and reported; the recorder is stopped again
        }

        foreach (Finding finding in recorder.OpenFindings)
        {
            if (finding.Severity == FindingSeverity.Info)
            {
                WriteVerbose(finding.ToString());
            }
            else
            {
                WriteWarning($"Opening '{directory}': {finding}");
            }
        }

        WriteObject(recorder);
    }

    private WalRecorderHostOptions Options()
    {
        var defaults = new WalRecorderOptions();
        var retention = new RetentionPolicy { MaxSegments = MaxSegments, MaxBytes = MaxBytes, MaxAge = MaxAge, CompressAfter = CompressAfter };
        return new WalRecorderHostOptions
        {
            Recorder = defaults with
            {
                SegmentSize = SegmentSize ?? defaults.SegmentSize,
                BlockSize = BlockSize ?? defaults.BlockSize,
                Durability = Durability ?? defaults.Durability,
                SyncInterval = SyncInterval ?? defaults.SyncInterval,
                Retention = retention == RetentionPolicy.KeepEverything ? defaults.Retention : retention,

                // A PowerShell pipeline spends microseconds an event; two clock reads an append cost nothing
                // beside that and give Get-WalTelemetry its append latency percentiles.
                MeasureAppendLatency = true,
                BackgroundThreads = new ThreadPlacement { Cores = BackgroundCores, Nice = BackgroundNice ?? 0 },
            },
            WriterThread = WriterCore is { } core ? new ThreadPlacement { Cores = [core] } : ThreadPlacement.Anywhere,
        };
    }
}
