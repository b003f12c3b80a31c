using FlashWal.Errors;

namespace FlashWal.Replication;

/// <summary>
/// A replication target that cannot be used: a URL that is not one, servers that cannot be reached,
/// a stream with other settings, a stream that holds another log. The message names the server or
/// the stream and what is wrong; <see cref="ErrorId"/> says which.
/// </summary>
public sealed class WalStreamException(string errorId, string message, string? path = null, Exception? innerException = null)
    : WalException(message, path, innerException)
{
    /// <summary>A server list that is not a list of <c>nats://host:port</c> URLs.</summary>
    public const string UrlInvalidErrorId = "WalStreamUrlInvalid";

    /// <summary>No server of the list answered, or none has JetStream.</summary>
    public const string UnreachableErrorId = "WalStreamUnreachable";

    /// <summary>The stream exists with settings other than a replica of a log needs (named).</summary>
    public const string SettingsDifferErrorId = "WalStreamSettingsDiffer";

    /// <summary>The stream holds another log, or messages that are not a FlashWal log's.</summary>
    public const string ForeignStreamErrorId = "WalStreamForeign";

    /// <summary>The stream does not exist, or holds nothing.</summary>
    public const string NotFoundErrorId = "WalStreamNotFound";

    /// <summary>The log and the stream disagree: the log does not continue what the stream holds (events deleted, a log rewritten).</summary>
    public const string DivergedErrorId = "WalStreamDiverged";

    /// <summary>A restore into a directory that is not empty.</summary>
    public const string TargetNotEmptyErrorId = "WalRestoreTargetNotEmpty";

    /// <inheritdoc />
    public override string ErrorId { get; } = errorId;
}
