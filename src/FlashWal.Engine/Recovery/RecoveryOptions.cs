namespace FlashWal.Recovery;

/// <summary>How <see cref="WalRecovery"/> replays a log.</summary>
public sealed class RecoveryOptions
{
    /// <summary>Strict (the default) or salvage.</summary>
    public RecoveryMode Mode { get; init; } = RecoveryMode.Strict;

    /// <summary>
    /// Open, verify and close segments on a background thread (the default). Off, the replay thread does
    /// it itself at each switch: for comparisons, and where a thread cannot be spared.
    /// </summary>
    public bool UsePreloader { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown recovery mode: it must be Strict or Salvage.");
        }
    }

    /// <summary><paramref name="options"/>, validated before anything is read (the defaults when none are given).</summary>
    internal static RecoveryOptions Checked(RecoveryOptions? options)
    {
        options ??= new RecoveryOptions();
        options.Validate();
        return options;
    }
}
