using System.Management.Automation;
using FlashWal.Errors;

namespace FlashWal.PowerShell.Internal;

/// <summary>
/// The errors about one path or its data that a cmdlet reports for that item (a non-terminating
/// error) before it goes on with the next: the engine's <see cref="WalException"/>s, each with its
/// stable <see cref="WalException.ErrorId"/>, and the file system's own.
/// </summary>
internal static class ItemErrors
{
    /// <summary>The error id for a path the file system refuses to open (the engine's <see cref="WalAccessDeniedException"/> carries the same).</summary>
    public const string AccessDeniedErrorId = "WalPathAccessDenied";

    /// <summary>The error id for a file the file system fails to read.</summary>
    public const string ReadErrorId = "WalPathReadError";

    /// <summary>Whether <paramref name="exception"/> is about the item in hand, not about the cmdlet or its arguments.</summary>
    public static bool IsItemError(Exception exception) =>
        exception is WalException or UnauthorizedAccessException or IOException;

    /// <summary>The error record for <paramref name="exception"/> (see <see cref="IsItemError"/>) about <paramref name="target"/>.</summary>
    public static ErrorRecord Record(Exception exception, object? target) => exception switch
    {
        WalException wal => Wal(wal, target),
        UnauthorizedAccessException => new ErrorRecord(exception, AccessDeniedErrorId, ErrorCategory.PermissionDenied, target),
        _ => new ErrorRecord(exception, ReadErrorId, ErrorCategory.ReadError, target),
    };

    /// <summary>The error record for <paramref name="exception"/>: its stable id, the category <see cref="Category"/> gives it, and the target (its path when none is given).</summary>
    public static ErrorRecord Wal(WalException exception, object? target) =>
        new(exception, exception.ErrorId, Category(exception), target ?? exception.Path);

    /// <summary>The category of each engine error, for every cmdlet: the one place that decides it.</summary>
    public static ErrorCategory Category(WalException exception) => exception switch
    {
        WalPathNotFoundException or WalNoSegmentException or WalRecorderNotFoundException => ErrorCategory.ObjectNotFound,
        WalNotADirectoryException or WalNotAFileException or WalRecorderNameInvalidException => ErrorCategory.InvalidArgument,
        WalAccessDeniedException => ErrorCategory.PermissionDenied,
        WalRecorderNameInUseException => ErrorCategory.ResourceExists,
        WalDirectoryLockedException or WalQueueFullException => ErrorCategory.ResourceBusy,
        WalDirectoryNotWritableException => ErrorCategory.PermissionDenied,
        WalRecorderStoppedException => ErrorCategory.ResourceUnavailable,
        WalEventTooLargeException => ErrorCategory.LimitsExceeded,
        WalPayloadTypeException => ErrorCategory.InvalidType,
        WalEventNotAppendedException => ErrorCategory.WriteError,
        WalRecorderCloseException => ErrorCategory.CloseError,
        _ => ErrorCategory.InvalidData, // WalDataCorrupt, WalNotASegment, WalFormatVersionUnsupported, WalEventIdNotIncreasing, WalError
    };
}
