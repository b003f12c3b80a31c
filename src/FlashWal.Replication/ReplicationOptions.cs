using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Replication;

/// <summary>
/// Where and how a log is replicated: the NATS servers, the JetStream stream and its subject, and
/// how many publishes may wait for their acknowledgement at once. One settings object for the
/// shipper, the restore and the remote reader.
/// </summary>
public sealed record ReplicationOptions
{
    private static readonly System.Buffers.SearchValues<char> s_notInStreamNames = System.Buffers.SearchValues.Create(" \t\r\n.*>/\\");
    private static readonly System.Buffers.SearchValues<char> s_notInSubjects = System.Buffers.SearchValues.Create(" \t\r\n*>");

    /// <summary>The servers, as a client is given them: <c>nats://host:port</c>, several separated by commas (any of them will do; the client fails over).</summary>
    public required string Servers { get; init; }

    /// <summary>The stream's name; null for <c>FLASHWAL_</c> and the log id (<see cref="StreamFor"/>).</summary>
    public string? Stream { get; init; }

    /// <summary>The one subject of the stream; null for <c>flashwal.</c> and the log id (<see cref="SubjectFor"/>).</summary>
    public string? Subject { get; init; }

    /// <summary>Servers that hold the stream (1 to 5; default 3). A publish is acknowledged once a majority of them stored it.</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>Publishes that may wait for their acknowledgement at once (1 to 1024; default 128).</summary>
    public int MaxInFlight { get; init; } = 128;

    /// <summary>
    /// Bytes of messages that may wait for their acknowledgement at once (1 MiB to 1 GiB; default 16 MiB):
    /// the last of them is answered once a quorum stored all before it, so at this cluster's pace it
    /// must be well within <see cref="AckTimeout"/> (16 MiB at 50 MB/s: a third of a second).
    /// </summary>
    public long MaxInFlightBytes { get; init; } = 16L << 20;

    /// <summary>The largest message, header included (4 KiB to 64 MiB); 0 (default) for the largest the server takes (its <c>max_payload</c>).</summary>
    public int MaxMessageBytes { get; init; }

    /// <summary>
    /// How long a publish waits for its acknowledgement before the shipper reads the stream again
    /// (100 ms to 5 min; default 2 s). A quorum acknowledges in milliseconds; while a stream has no
    /// leader every publish waits this long, so it is also the step at which a shipper finds a cluster back.
    /// </summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait to connect, and between two attempts while no server answers (100 ms to 5 min; default 2 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often the shipper looks at a segment whose close is still to be shipped (default 10 ms):
    /// that reads its file, so not on every turn. Tests set it to make two shippers place the closes
    /// among the blocks differently.
    /// </summary>
    internal TimeSpan CloseCheckInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The stream name for the log <paramref name="logId"/> when none is given: <c>FLASHWAL_</c> and the id in upper case.</summary>
    public static string StreamFor(LogId logId) => "FLASHWAL_" + logId.ToString().ToUpperInvariant();

    /// <summary>The subject for the log <paramref name="logId"/> when none is given: <c>flashwal.</c> and the id.</summary>
    public static string SubjectFor(LogId logId) => "flashwal." + logId;

    /// <summary>Throws naming the first setting that cannot be used.</summary>
    /// <exception cref="WalStreamException">The server list is not a list of <c>nats://</c> URLs (<see cref="WalStreamException.UrlInvalidErrorId"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of its range (named).</exception>
    /// <exception cref="ArgumentException">A stream name or subject NATS does not take.</exception>
    public void Validate()
    {
        ServerList();
        Check(Replicas, 1, 5, nameof(Replicas));
        Check(MaxInFlight, 1, 1024, nameof(MaxInFlight));
        if (MaxMessageBytes != 0)
        {
            Check(MaxMessageBytes, 4096, 64 << 20, nameof(MaxMessageBytes));
        }

        if (MaxInFlightBytes < 1L << 20 || MaxInFlightBytes > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInFlightBytes), MaxInFlightBytes, "MaxInFlightBytes must be from 1 MiB to 1 GiB.");
        }

        Check(AckTimeout, nameof(AckTimeout));
        Check(ConnectTimeout, nameof(ConnectTimeout));
        if (Stream is not null && (Stream.Length == 0 || Stream.AsSpan().IndexOfAny(s_notInStreamNames) >= 0))
        {
            throw new ArgumentException($"'{Stream}' cannot be a stream name: it must be non-empty, without spaces, '.', '*', '>', '/' or '\\'.", nameof(Stream));
        }

        if (Subject is not null && (Subject.Length == 0 || Subject.AsSpan().IndexOfAny(s_notInSubjects) >= 0 || Subject.StartsWith('.') || Subject.EndsWith('.')))
        {
            throw new ArgumentException($"'{Subject}' cannot be a stream's subject: it must be one subject, without spaces or wildcards.", nameof(Subject));
        }
    }

    /// <summary>The servers, each checked: a <c>nats://</c> (or <c>tls://</c>) URL with a host and, if given, a port.</summary>
    /// <exception cref="WalStreamException">One is not (<see cref="WalStreamException.UrlInvalidErrorId"/>), named.</exception>
    public IReadOnlyList<Uri> ServerList()
    {
        string[] parts = (Servers ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new WalStreamException(WalStreamException.UrlInvalidErrorId, "No NATS server was given: give one or more URLs, such as nats://127.0.0.1:4222.");
        }

        var servers = new List<Uri>();
        foreach (string part in parts)
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("nats" or "tls") || uri.Host.Length == 0
                || uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0)
            {
                throw new WalStreamException(WalStreamException.UrlInvalidErrorId,
                    $"'{part}' is not a NATS server URL: give nats://host:port (or tls://host:port), several separated by commas.");
            }

            servers.Add(uri);
        }

        return servers;
    }

    private static void Check(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} must be from {min} to {max}."));
        }
    }

    private static void Check(TimeSpan value, string name)
    {
        if (value < TimeSpan.FromMilliseconds(100) || value > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be from 100 ms to 5 minutes.");
        }
    }
}
