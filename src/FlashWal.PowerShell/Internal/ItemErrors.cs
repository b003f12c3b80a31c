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
    /// <summary>The error id for a path the file system refuses to open.</summary>
    public const string AccessDeniedErrorId = "WalPathAccessDenied";

    /// <summary>The error id for a file the file system fails to read.</summary>
    public const string ReadErrorId = "WalPathReadError";

    /// <summary>Whether <paramref name="exception"/> is about the item in hand, not about the cmdlet or its arguments.</summary>
    public static bool IsItemError(Exception exception) =>
        exception is WalException or UnauthorizedAccessException or IOException;

    /// <summary>The error record for <paramref name="exception"/> (see <see cref="IsItemError"/>) about <paramref name="target"/>.</summary>
    public static ErrorRecord Record(Exception exception, object? target) => exception switch
    {
        WalPathNotFoundException or WalNoSegmentException => Wal((WalException)exception, ErrorCategory.ObjectNotFound, target),
        WalNotADirectoryException wal => Wal(wal, ErrorCategory.InvalidArgument, target),
        WalDirectoryLockedException wal => Wal(wal, ErrorCategory.ResourceBusy, target),
        WalException wal => Wal(wal, ErrorCategory.InvalidData, target),
        UnauthorizedAccessException => new ErrorRecord(exception, AccessDeniedErrorId, ErrorCategory.PermissionDenied, target),
        _ => new ErrorRecord(exception, ReadErrorId, ErrorCategory.ReadError, target),
    };

    private static ErrorRecord Wal(WalException exception, ErrorCategory category, object? target) =>
        new(exception, exception.ErrorId, category, target ?? exception.Path);
}
