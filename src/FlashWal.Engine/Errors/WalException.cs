
namespace FlashWal.Errors;

/// <summary>The base of every error FlashWal raises about a user's data, paths or arguments.</summary>
public class WalException : Exception
{
    /// <summary>Creates an error about <paramref name="path"/>.</summary>
    public WalException(string message, string? path = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>The file or directory the error is about, when there is one.</summary>
    public string? Path { get; }

    /// <summary>A stable identifier for scripts and for PowerShell's FullyQualifiedErrorId.</summary>
    public virtual string ErrorId => "WalError";
}

/// <summary>A file or directory that does not exist.</summary>
public sealed class WalPathNotFoundException(string path)
    : WalException($"'{path}' does not exist.", path)
{
    /// <inheritdoc />
    public override string ErrorId => "WalPathNotFound";
}

/// <summary>A file where a WAL directory was expected.</summary>
public sealed class WalNotADirectoryException(string path)
    : WalException($"'{path}' is a file; a WAL directory was expected.", path)
{
    /// <inheritdoc />
    public override string ErrorId => "WalPathNotADirectory";
}

/// <summary>A directory where a segment file was expected.</summary>
public sealed class WalNotAFileException(string path)
    : WalException($"'{path}' is a directory; a segment file was expected.", path)
{
    /// <inheritdoc />
    public override string ErrorId => "WalPathNotAFile";
}

/// <summary>A file or directory the process may not read (permissions, an access control list, a security module).</summary>
public sealed class WalAccessDeniedException(string path, Exception inner)
    : WalException($"'{path}' cannot be read: permission denied ({inner.Message})", path, inner)
{
    /// <inheritdoc />
    public override string ErrorId => "WalPathAccessDenied";
}

/// <summary>A directory that holds no segment where events were to be read.</summary>
public sealed class WalNoSegmentException(string path)
    : WalException($"'{path}' holds no segment; a WAL directory or a segment file was expected.", path)
{
    /// <inheritdoc />
    public override string ErrorId => "WalNoSegment";
}

/// <summary>A file that is not a FlashWal segment, or whose header is damaged.</summary>
public sealed class WalFormatException(string message, string path)
    : WalException(message, path)
{
    /// <inheritdoc />
    public override string ErrorId => "WalNotASegment";
}

/// <summary>A segment written by a newer format version than this build reads.</summary>
public sealed class WalVersionException(string path, int version)
    : WalException($"'{path}' uses FlashWal format version {version}; this build reads versions up to {Format.SegmentFormat.Version}. Use a newer FlashWal.", path)
{
    /// <summary>The version found in the file.</summary>
    public int Version { get; } = version;

    /// <inheritdoc />
    public override string ErrorId => "WalFormatVersionUnsupported";
}

/// <summary>An event whose payload cannot fit in a block.</summary>
public sealed class WalEventTooLargeException(string path, int payloadLength, int maxPayloadLength)
    : WalException($"An event payload of {payloadLength} bytes does not fit in a block of '{path}': the largest payload is {maxPayloadLength} bytes. Use a larger block size.", path)
{
    /// <summary>The payload length that was offered.</summary>
    public int PayloadLength { get; } = payloadLength;

    /// <summary>The largest payload length this segment's block size allows.</summary>
    public int MaxPayloadLength { get; } = maxPayloadLength;

    /// <inheritdoc />
    public override string ErrorId => "WalEventTooLarge";
}

/// <summary>An event id that is not greater than the previous one (or is below 1).</summary>
public sealed class WalEventIdException(string path, long eventId, long previousEventId)
    : WalException(previousEventId >= 1
        ? $"Event id {eventId} does not increase: the previous event in '{path}' has id {previousEventId}."
        : $"Event id {eventId} is not valid for '{path}': event ids start at 1 and must increase.", path)
{
    /// <summary>The id that was offered.</summary>
    public long EventId { get; } = eventId;

    /// <summary>The id of the previous event (0 when there is none).</summary>
    public long PreviousEventId { get; } = previousEventId;

    /// <inheritdoc />
    public override string ErrorId => "WalEventIdNotIncreasing";
}

/// <summary>A segment or log whose data is damaged where the caller needs it intact.</summary>
public sealed class WalCorruptionException(Format.Finding finding)
    : WalException(finding.ToString(), finding.File)
{
    /// <summary>The finding that describes the damage: file, offset, block, expected and found.</summary>
    public Format.Finding Finding { get; } = finding;

    /// <inheritdoc />
    public override string ErrorId => "WalDataCorrupt";
}

/// <summary>A WAL directory that another recorder (in this or another process) is writing.</summary>
public sealed class WalDirectoryLockedException : WalException
{
    /// <summary>Another process, or another lock holder, has the directory.</summary>
    public WalDirectoryLockedException(string directory, int? ownerProcessId, Exception? inner = null)
        : base(ownerProcessId is int pid
            ? $"'{directory}' is being written by another recorder (process {pid}); only one recorder may write a WAL directory."
            : $"'{directory}' is being written by another recorder; only one recorder may write a WAL directory.", directory, inner)
    {
        OwnerProcessId = ownerProcessId;
    }

    /// <summary>A named recorder of this process has the directory.</summary>
    public WalDirectoryLockedException(string directory, string recorderName)
        : base($"'{directory}' is being written by the recorder '{recorderName}' of this process; only one recorder may write a WAL directory. Stop it first (Stop-WalRecorder {recorderName}).", directory)
    {
        OwnerProcessId = Environment.ProcessId;
        RecorderName = recorderName;
    }

    /// <summary>The holder's process id, when it could be read.</summary>
    public int? OwnerProcessId { get; }

    /// <summary>The name of the holder when it is a named recorder of this process.</summary>
    public string? RecorderName { get; }

    /// <inheritdoc />
    public override string ErrorId => "WalDirectoryLocked";
}

/// <summary>A WAL directory that cannot be created or written (read-only file system, permissions): by a recorder, or by a repair.</summary>
public sealed class WalDirectoryNotWritableException(string directory, Exception inner)
    : WalException($"'{directory}' cannot be written: {inner.Message}", directory, inner)
{
    /// <inheritdoc />
    public override string ErrorId => "WalDirectoryNotWritable";
}

/// <summary>A submission refused because the host's queue is full and the host fails fast.</summary>
public sealed class WalQueueFullException(string directory, int capacity)
    : WalException($"The recorder queue of '{directory}' is full ({capacity} events waiting); the event was not submitted.", directory)
{
    /// <inheritdoc />
    public override string ErrorId => "WalQueueFull";
}

/// <summary>
/// A sync (<c>fsync</c>, <c>msync</c>, a directory's <c>fsync</c>) that the operating system
/// reported as failed. What it was to make durable may not be on stable storage, and the kernel may
/// already have dropped the dirty pages (a later sync of the same file would "succeed" without
/// writing them): nothing it covered is ever reported durable, and a recorder stops.
/// </summary>
public sealed class WalSyncException(string path, string operation, int errno, string reason)
    : WalException($"{(operation.EndsWith("directory", StringComparison.Ordinal) ? operation : operation + " of")} '{path}' failed: {reason} (errno {errno}); what it was to make durable may not be on stable storage, and is not reported durable.", path)
{
    /// <summary>The failed call: <c>fsync</c>, <c>msync</c> or <c>fsync of the directory</c>.</summary>
    public string Operation { get; } = operation;

    /// <summary>The error number the call returned (5 is EIO, 28 ENOSPC).</summary>
    public int ErrorNumber { get; } = errno;

    /// <inheritdoc />
    public override string ErrorId => "WalSyncFailed";
}
