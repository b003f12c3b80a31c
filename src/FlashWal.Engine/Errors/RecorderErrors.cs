namespace FlashWal.Errors;

/// <summary>A recorder name that is already taken by a running recorder of this process.</summary>
public sealed class WalRecorderNameInUseException(string name, string directory)
    : WalException($"A recorder named '{name}' is already running (it writes '{directory}'); recorder names are unique. Choose another -Name or stop it first (Stop-WalRecorder {name}).", directory)
{
    /// <summary>The name asked for.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderNameInUse";
}

/// <summary>A recorder name that cannot be used: empty, surrounded by white space, or with wildcard characters.</summary>
public sealed class WalRecorderNameInvalidException(string name, string reason)
    : WalException($"'{name}' cannot be a recorder name: {reason}")
{
    /// <summary>The name asked for.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderNameInvalid";
}

/// <summary>No running recorder has the name (or matches the name without wildcards) that was given.</summary>
public sealed class WalRecorderNotFoundException(string name)
    : WalException($"No running recorder is named '{name}'. Get-WalRecorder lists the running recorders.")
{
    /// <summary>The name that matched nothing.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderNotFound";
}

/// <summary>An event offered to a recorder that has been stopped.</summary>
public sealed class WalRecorderStoppedException(string name, string directory, Exception? inner = null)
    : WalException($"The recorder '{name}' ('{directory}') has been stopped; it takes no more events.", directory, inner)
{
    /// <summary>The recorder's name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderStopped";
}

/// <summary>A recorder whose stop (commit, flush, close) failed: what was committed is on disk, the rest may not be.</summary>
public sealed class WalRecorderCloseException(string name, string directory, Exception inner)
    : WalException($"Stopping the recorder '{name}' ('{directory}') failed: {inner.Message}", directory, inner)
{
    /// <summary>The recorder's name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderCloseFailed";
}

/// <summary>A value that has no event payload form (see <see cref="Hosting.EventPayload"/>).</summary>
public sealed class WalPayloadTypeException(Type type)
    : WalException($"A {type.FullName} has no payload form: events are byte arrays, strings (UTF-8) or primitive values (their text). Convert it first, or write it as JSON (-AsJson).")
{
    /// <summary>The type that was offered.</summary>
    public Type Type { get; } = type;

    /// <inheritdoc />
    public override string ErrorId => "WalEventPayloadUnsupported";
}

/// <summary>An event the recorder's writer thread could not append (an I/O error, a full disk): it is not in the log.</summary>
public sealed class WalEventNotAppendedException(string name, string directory, long count, Exception? inner)
    : WalException(inner is null
        ? $"{count} event(s) could not be appended by the recorder '{name}' ('{directory}'); they are not in the log."
        : $"{count} event(s) could not be appended by the recorder '{name}' ('{directory}'); they are not in the log: {inner.Message}", directory, inner)
{
    /// <summary>How many events were lost.</summary>
    public long Count { get; } = count;

    /// <inheritdoc />
    public override string ErrorId => "WalEventNotAppended";
}

/// <summary>A wait for replication on a recorder whose log is not replicated.</summary>
public sealed class WalRecorderNotReplicatedException(string name, string directory)
    : WalException($"The recorder '{name}' ('{directory}') is not replicated: there is no replicated watermark to wait for. Start it with -ReplicateTo.", directory)
{
    /// <summary>The recorder's name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public override string ErrorId => "WalRecorderNotReplicated";
}
