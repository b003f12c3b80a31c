namespace FlashWal.Cli;

/// <summary>The exit codes every subcommand uses.</summary>
internal static class ExitCodes
{
    /// <summary>Done; the data is intact.</summary>
    public const int Ok = 0;

    /// <summary>Damage (or, for recovery, a gap; for repair, lost events or work a dry run found) was found.</summary>
    public const int Damage = 1;

    /// <summary>Bad usage, a missing path, an I/O error, a locked directory (or a repair that is blocked or failed).</summary>
    public const int UsageOrIo = 2;
}
