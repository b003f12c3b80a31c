using System.Management.Automation;
using FlashWal.Errors;
using FlashWal.Hosting;

namespace FlashWal.PowerShell.Internal;

/// <summary>
/// What the recorder cmdlets share: the process's <see cref="RecorderRegistry"/>, the hook that stops
/// its recorders when the module is removed, name lookup with its errors, and the error records.
/// </summary>
internal static class RecorderCmdlets
{
    /// <summary>The error id for a wildcard pattern PowerShell's rules cannot read.</summary>
    public const string NamePatternInvalidErrorId = "WalRecorderNamePatternInvalid";

    /// <summary>The error id for a wait that ran out of time.</summary>
    public const string WaitTimeoutErrorId = "WalWaitTimeout";

    /// <summary>
    /// Run by <c>Remove-Module</c> (<see cref="PSModuleInfo.OnRemove"/>): stops every recorder, as
    /// <see cref="RecorderRegistry.StopAll"/> does, and warns about those that failed to close.
    /// </summary>
    /// <remarks>
    /// PowerShell 7 calls <c>IModuleAssemblyCleanup.OnRemove</c> on binary modules, but that interface
    /// is not in PowerShellStandard.Library 5.1, which the module compiles against; a module's
    /// <see cref="PSModuleInfo.OnRemove"/> script block, which every PowerShell runs on
    /// <c>Remove-Module</c> (and on <c>Import-Module -Force</c>, which removes first), is. Closing a
    /// runspace does not run it; process exit is covered by the registry itself.
    /// </remarks>
    private const string OnRemoveScript =
        "foreach ($failure in [FlashWal.Hosting.RecorderRegistry]::Default.StopAll()) { Write-Warning -Message $failure.Message }";

    /// <summary>The process's recorders.</summary>
    public static RecorderRegistry Registry => RecorderRegistry.Default;

    /// <summary>
    /// Makes sure that removing the module that <paramref name="cmdlet"/> belongs to stops the
    /// recorders: sets its <see cref="PSModuleInfo.OnRemove"/> once. Every recorder cmdlet calls it.
    /// </summary>
    public static void StopRecordersOnModuleRemoval(PSCmdlet cmdlet)
    {
        PSModuleInfo? module = cmdlet.MyInvocation.MyCommand.Module;
        if (module is not null && module.OnRemove is null)
        {
            module.OnRemove = ScriptBlock.Create(OnRemoveScript);
        }
    }

    /// <summary>
    /// The running recorders that <paramref name="names"/> match (wildcards allowed). A name without
    /// wildcards that matches nothing writes a non-terminating <c>WalRecorderNotFound</c> error; a
    /// malformed pattern is a terminating <see cref="NamePatternInvalidErrorId"/> error.
    /// </summary>
    public static IReadOnlyList<NamedRecorder> Find(PSCmdlet cmdlet, IEnumerable<string> names)
    {
        var unmatched = new List<string>();
        IReadOnlyList<NamedRecorder> found;
        try
        {
            found = Registry.Find(names, unmatched);
        }
        catch (ArgumentException e)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(e, NamePatternInvalidErrorId, ErrorCategory.InvalidArgument, names));
            throw; // not reached: ThrowTerminatingError throws
        }

        foreach (string name in unmatched)
        {
            cmdlet.WriteError(Error(new WalRecorderNotFoundException(name), name));
        }

        return found;
    }

    /// <summary>The error record for <paramref name="exception"/>, with its stable id and the category that fits it.</summary>
    public static ErrorRecord Error(WalException exception, object? target) => ItemErrors.Wal(exception, target);

    /// <summary>A <c>-Timeout</c> in seconds (-1: no limit) as a time span.</summary>
    public static TimeSpan Seconds(int seconds) => seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    /// <summary>What is left of <paramref name="limit"/> after <paramref name="clock"/>'s time: never negative; no limit stays no limit.</summary>
    public static TimeSpan Left(TimeSpan limit, System.Diagnostics.Stopwatch clock)
    {
        if (limit == Timeout.InfiniteTimeSpan)
        {
            return limit;
        }

        TimeSpan left = limit - clock.Elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}
