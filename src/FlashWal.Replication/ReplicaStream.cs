using System.Diagnostics;
using System.Globalization;
using FlashWal.Format;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FlashWal.Replication;

/// <summary>
/// A connection to the NATS servers and the JetStream stream that holds one log's replica: creates
/// the stream (one subject, file storage, the replicas asked for, no limit that would delete what it
/// acknowledged) or checks that an existing one has exactly those settings, reads its last message,
/// publishes, and reads it in order. Every failure to reach it becomes one
/// <see cref="WalStreamException"/> that names the servers and what went wrong.
/// </summary>
internal sealed class ReplicaStream : IAsyncDisposable
{
    private readonly IReadOnlyList<Uri> _servers;
    private NatsConnection _connection;
    private NatsJSContext _js;

    private ReplicaStream(ReplicationOptions options, string name, string subject)
    {
        Options = options;
        _servers = options.ServerList();
        _connection = Connection(firstServer: 0);
        _js = new NatsJSContext(_connection);
        Name = name;
        Subject = subject;
    }

    public ReplicationOptions Options { get; }

    /// <summary>The stream's name.</summary>
    public string Name { get; private set; }

    /// <summary>The stream's one subject.</summary>
    public string Subject { get; }

    /// <summary>The largest message the stream takes from this shipper, header included.</summary>
    public int MaxMessageBytes { get; private set; }

    /// <summary>Whether the connection is up now.</summary>
    public bool IsConnected => _connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>
    /// Connects and binds the stream of <paramref name="logId"/> (its name and subject from
    /// <paramref name="options"/>, or derived from the id), creating it when <paramref name="create"/>
    /// and it does not exist; with an unknown log (<paramref name="logId"/> null) the stream must be named.
    /// </summary>
    /// <exception cref="WalStreamException">The servers cannot be reached, have no JetStream, or the stream is missing or has other settings.</exception>
    public static async Task<ReplicaStream> OpenAsync(ReplicationOptions options, LogId? logId, bool create, CancellationToken cancellationToken)
    {
        options.Validate();
        string name = options.Stream ?? (logId is { } id ? ReplicationOptions.StreamFor(id) : "");
        string subject = options.Subject ?? (logId is { } log ? ReplicationOptions.SubjectFor(log) : "");
        var stream = new ReplicaStream(options, name, subject);
        try
        {
            await stream.ConnectAsync(cancellationToken).ConfigureAwait(false);
            if (stream.Name.Length == 0)
            {
                stream.Name = await stream.OnlyLogStreamAsync(cancellationToken).ConfigureAwait(false);
            }

            await stream.BindAsync(create, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A connection to the servers, in their order from <paramref name="firstServer"/> on (not
    /// shuffled): each attempt to connect starts from another server, because the client gives up
    /// when its first server takes the connection and never answers (a paused or hung process), even
    /// when the next would.
    /// </summary>
    private NatsConnection Connection(int firstServer) => new(new NatsOpts
    {
        Url = string.Join(',', _servers.Skip(firstServer).Concat(_servers.Take(firstServer)).Select(u => u.ToString().TrimEnd('/'))),
        NoRandomize = true,
        Name = "flashwal",
        ConnectTimeout = Options.ConnectTimeout,
        RequestTimeout = Options.AckTimeout,
        CommandTimeout = Options.AckTimeout,
        MaxReconnectRetry = -1,
        ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
        ReconnectWaitMax = Options.ConnectTimeout,
    });

    /// <summary>Connects, trying each server first in turn (at least <see cref="ConnectAttempts"/> attempts).</summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        int attempts = Math.Max(ConnectAttempts, _servers.Count);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await _connection.ConnectAsync().AsTask().WaitAsync(Options.ConnectTimeout * 2, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is NatsException or TimeoutException or System.Net.Sockets.SocketException)
            {
                if (attempt == attempts)
                {
                    throw new WalStreamException(WalStreamException.UnreachableErrorId, string.Create(CultureInfo.InvariantCulture,
                        $"No NATS server answered at {Options.Servers} ({attempts} attempts, each server tried first in turn, {Options.ConnectTimeout.TotalSeconds} s each): {e.Message}"), innerException: e);
                }

                await DisposeConnectionAsync().ConfigureAwait(false);
                _connection = Connection(firstServer: attempt % _servers.Count);
                _js = new NatsJSContext(_connection);
            }
        }

        MaxMessageBytes = (int)Math.Min(Options.MaxMessageBytes == 0 ? int.MaxValue : Options.MaxMessageBytes,
            (_connection.ServerInfo?.MaxPayload ?? 1 << 20) - 1024); // room for the NATS headers
    }

    /// <summary>The one stream of a log on the servers (named <c>FLASHWAL_</c>…), for a reader given no stream name.</summary>
    private async Task<string> OnlyLogStreamAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        await ApiAsync(async () =>
        {
            names.Clear();
            await foreach (string name in _js.ListStreamNamesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (name.StartsWith("FLASHWAL_", StringComparison.Ordinal))
                {
                    names.Add(name);
                }
            }

            return names.Count;
        }, "list the streams", cancellationToken).ConfigureAwait(false);

        return names.Count == 1 ? names[0] : throw new WalStreamException(WalStreamException.NotFoundErrorId, names.Count == 0
            ? $"The servers at {Options.Servers} hold no FlashWal stream (FLASHWAL_…); name the stream to read (--stream, -Stream)."
            : $"The servers at {Options.Servers} hold {names.Count} FlashWal streams ({string.Join(", ", names.Order(StringComparer.Ordinal))}); name the one to read (--stream, -Stream).");
    }

    /// <summary>Finds the stream, or creates it, and checks its settings.</summary>
    private async Task BindAsync(bool create, CancellationToken cancellationToken)
    {
        StreamConfig wanted = Wanted();
        INatsJSStream stream;
        try
        {
            stream = await ApiAsync(() => _js.GetStreamAsync(Name, cancellationToken: cancellationToken).AsTask(), $"look up the stream '{Name}'", cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == 10059) // stream not found
        {
            if (!create)
            {
                throw new WalStreamException(WalStreamException.NotFoundErrorId, $"The servers at {Options.Servers} hold no stream named '{Name}'.", innerException: e);
            }

            stream = await CreateAsync(wanted, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSApiException or NatsJSException or NatsException or TimeoutException)
        {
            throw new WalStreamException(WalStreamException.UnreachableErrorId, $"The stream '{Name}' at {Options.Servers} cannot be looked up: {e.Message}", innerException: e);
        }

        CheckSettings(stream.Info.Config, wanted);
    }

    private async Task<INatsJSStream> CreateAsync(StreamConfig wanted, CancellationToken cancellationToken)
    {
        var patience = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await ApiAsync(() => _js.CreateStreamAsync(wanted, cancellationToken).AsTask(), $"create the stream '{Name}'", cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == NoPeersForPlacement && patience.Elapsed < ApiPatience)
            {
                // A cluster that has just elected its meta leader places nothing until it has heard
                // from its servers; one with too few servers for the replicas says the same for good.
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e)
            {
                throw new WalStreamException(WalStreamException.SettingsDifferErrorId,
                    $"The stream '{Name}' cannot be created at {Options.Servers} with {Options.Replicas} replicas on subject '{Subject}': {e.Error.Description} (code {e.Error.ErrCode}). A cluster needs at least as many JetStream servers as replicas; another stream may hold the subject.", innerException: e);
            }
        }
    }

    /// <summary>JetStream's error code for "no suitable peers for placement".</summary>
    private const int NoPeersForPlacement = 10005;

    /// <summary>What the stream of a log is created with, and must have: nothing in it is ever deleted by the server.</summary>
    private StreamConfig Wanted() => new(Name, [Subject])
    {
        NumReplicas = Options.Replicas,
        Storage = StreamConfigStorage.File,
        Retention = StreamConfigRetention.Limits,
        Discard = StreamConfigDiscard.New,
        MaxMsgs = -1,
        MaxBytes = -1,
        MaxMsgsPerSubject = -1,
        MaxAge = TimeSpan.Zero,
        DenyDelete = true,
        DenyPurge = true,
        Description = "FlashWal log replica (FORMAT.md section 19)",
    };

    private void CheckSettings(StreamConfig found, StreamConfig wanted)
    {
        var differences = new List<string>();
        if (Subject.Length > 0 && (found.Subjects is not { Count: 1 } || found.Subjects.First() != Subject))
        {
            differences.Add($"subjects [{string.Join(", ", found.Subjects ?? [])}] instead of [{Subject}]");
        }

        if (found.NumReplicas != wanted.NumReplicas)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture, $"{found.NumReplicas} replicas instead of {wanted.NumReplicas}"));
        }

        if (found.Storage != StreamConfigStorage.File)
        {
            differences.Add($"{found.Storage} storage instead of file storage");
        }

        if (found.Retention != StreamConfigRetention.Limits)
        {
            differences.Add($"{found.Retention} retention, which deletes acknowledged messages, instead of limits");
        }

        if (found.MaxMsgs > 0 || found.MaxBytes > 0 || found.MaxMsgsPerSubject > 0 || found.MaxAge > TimeSpan.Zero)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture,
                $"limits that delete old messages (max messages {found.MaxMsgs}, max bytes {found.MaxBytes}, max per subject {found.MaxMsgsPerSubject}, max age {found.MaxAge})"));
        }

        if (found.MaxMsgSize > 0 && found.MaxMsgSize < MaxMessageBytes)
        {
            MaxMessageBytes = found.MaxMsgSize;
        }

        if (differences.Count > 0)
        {
            throw new WalStreamException(WalStreamException.SettingsDifferErrorId,
                $"The stream '{Name}' at {Options.Servers} has other settings than a log's replica needs: {string.Join("; ", differences)}. Use another stream (--stream) or delete this one.");
        }
    }

    /// <summary>
    /// The stream's last message, decoded and checked, with the <c>Nats-Msg-Id</c> it was stored
    /// under (the next publish names it as the one it must follow: what the stream says, not an id
    /// worked out here); null when the stream is empty.
    /// </summary>
    /// <exception cref="WalStreamException">The last message is not a FlashWal replica message, or carries no <c>Nats-Msg-Id</c> (<see cref="WalStreamException.ForeignStreamErrorId"/>).</exception>
    public async Task<(ReplicaMessage Message, ulong Sequence, string MessageId)?> LastMessageAsync(CancellationToken cancellationToken)
    {
        return await ApiAsync<(ReplicaMessage, ulong, string)?>(async () =>
        {
            INatsJSStream stream = await _js.GetStreamAsync(Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (stream.Info.State.Messages == 0)
            {
                return null;
            }

            ulong last = stream.Info.State.LastSeq;
            StreamMsgGetResponse got = await stream.GetAsync(new StreamMsgGetRequest { Seq = last }, cancellationToken).ConfigureAwait(false);
            ReplicaMessage message = Decode(got.Message.Data, last);
            string id = StoredMessageId(got.Message.Hdrs) ?? throw new WalStreamException(WalStreamException.ForeignStreamErrorId, string.Create(CultureInfo.InvariantCulture,
                $"Message {last} of the stream '{Name}' at {Options.Servers} carries no Nats-Msg-Id: a FlashWal shipper did not publish it."));
            return (message, last, id);
        }, $"read the last message of the stream '{Name}'", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The <c>Nats-Msg-Id</c> in a stored message's headers (base64 of <c>NATS/1.0</c> and header lines); null when there is none.</summary>
    internal static string? StoredMessageId(string? headers)
    {
        if (string.IsNullOrEmpty(headers))
        {
            return null;
        }

        string text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(headers));
        foreach (string line in text.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals("Nats-Msg-Id", StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>Messages in the stream now, and the sequence of the last.</summary>
    public async Task<(long Messages, ulong LastSequence, long Bytes)> StateAsync(CancellationToken cancellationToken)
    {
        INatsJSStream stream = await ApiAsync(() => _js.GetStreamAsync(Name, cancellationToken: cancellationToken).AsTask(), $"look up the stream '{Name}'", cancellationToken).ConfigureAwait(false);
        return (stream.Info.State.Messages, stream.Info.State.LastSeq, stream.Info.State.Bytes);
    }

    /// <summary>Decodes a stored message; a message that is not a replica message is a foreign stream.</summary>
    public ReplicaMessage Decode(ReadOnlyMemory<byte> data, ulong sequence) =>
        ReplicaMessage.TryRead(data, out string? problem)
        ?? throw new WalStreamException(WalStreamException.ForeignStreamErrorId, string.Create(CultureInfo.InvariantCulture,
            $"Message {sequence} of the stream '{Name}' at {Options.Servers} is not a FlashWal log's: {problem}."));

    /// <summary>
    /// Publishes one message, only if the stream's last message is <paramref name="expectedLast"/>
    /// (null: only into an empty stream), so that nothing is ever stored out of order; completes with the stream's acknowledgement.
    /// </summary>
    public Task<PubAckResponse> PublishAsync(ReadOnlyMemory<byte> message, string messageId, string? expectedLast, CancellationToken cancellationToken)
    {
        var opts = expectedLast is null
            ? new NatsJSPubOpts { MsgId = messageId, ExpectedLastSequence = 0, RetryAttempts = 1 }
            : new NatsJSPubOpts { MsgId = messageId, ExpectedLastMsgId = expectedLast, RetryAttempts = 1 };
        return _js.PublishAsync(Subject, message, opts: opts, cancellationToken: cancellationToken).AsTask();
    }

    /// <summary>Reads the stream in order, from sequence 1 through <paramref name="lastSequence"/>, each message checked.</summary>
    public async IAsyncEnumerable<(ReplicaMessage Message, ulong Sequence)> ReadAsync(ulong lastSequence,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (lastSequence == 0)
        {
            yield break;
        }

        INatsJSConsumer consumer = await ApiAsync(() => _js.CreateOrderedConsumerAsync(Name, new NatsJSOrderedConsumerOpts
        {
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        }, cancellationToken).AsTask(), $"read the stream '{Name}'", cancellationToken).ConfigureAwait(false);
        await foreach (NatsJSMsg<ReadOnlyMemory<byte>> message in consumer.ConsumeAsync<ReadOnlyMemory<byte>>(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            ulong sequence = message.Metadata?.Sequence.Stream ?? 0;
            yield return (Decode(message.Data, sequence), sequence);
            if (sequence >= lastSequence)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// A JetStream API call, tried again while the cluster cannot answer it yet (no API response, no
    /// responders, JetStream temporarily unavailable: a leader being elected, a node coming back) for
    /// up to <see cref="ApiPatience"/>; then the servers are unreachable, said once and clearly.
    /// </summary>
    private async Task<T> ApiAsync<T>(Func<Task<T>> call, string what, CancellationToken cancellationToken)
    {
        var patience = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (IsNotReady(e))
            {
                if (patience.Elapsed > ApiPatience)
                {
                    throw new WalStreamException(WalStreamException.UnreachableErrorId, string.Create(CultureInfo.InvariantCulture,
                        $"The servers at {Options.Servers} did not answer the request to {what} for {ApiPatience.TotalSeconds} s ({e.Message}): is JetStream enabled (nats-server -js, or a jetstream block), and does the cluster have a quorum?"), innerException: e);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How long a JetStream API call is tried again while the cluster is not ready.</summary>
    private TimeSpan ApiPatience => Options.ConnectTimeout * 10 > TimeSpan.FromSeconds(10) ? Options.ConnectTimeout * 10 : TimeSpan.FromSeconds(10);

    /// <summary>Attempts to connect before the servers are called unreachable (a loaded machine may miss one timeout).</summary>
    private const int ConnectAttempts = 3;

    private static bool IsNotReady(Exception e) =>
        e is NatsJSApiNoResponseException or NatsNoRespondersException or NatsNoReplyException or TimeoutException
        || (e is NatsJSApiException api && (api.Error.Code == 503 || api.Error.ErrCode == 10008));

    /// <summary>Closes the connection. A server that does not answer the goodbye (it is down, or reconnecting) changes nothing: nothing is lost by not hearing it.</summary>
    public ValueTask DisposeAsync() => DisposeConnectionAsync();

    private async ValueTask DisposeConnectionAsync()
    {
        try
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
