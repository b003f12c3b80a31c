using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Inspection;
using FlashWal.Recovery;

namespace FlashWal.Replication;

/// <summary>
/// Rebuilds a log from its stream into an empty directory, on any machine that reaches the servers:
/// reads every message in order, places each part with a <see cref="SegmentAssembly"/> (headers,
/// blocks, strays, summaries), makes each segment durable under its name as it is completed, and
/// verifies the result with the verifier every other tool uses. Closed segments come out byte for
/// byte as the recorder left them; a segment the recorder had not closed when the stream was read is
/// left open, as a recorder that stopped in it would leave it.
/// </summary>
public static class LogRestore
{
    /// <summary>
    /// Restores the stream <paramref name="options"/> names (or the only FlashWal stream on the servers)
    /// into <paramref name="directory"/>, which must be empty or absent. Reads what the stream holds
    /// when it starts.
    /// </summary>
    /// <exception cref="WalStreamException">The servers cannot be reached, the stream is missing or empty, holds messages that are not a log's, or the directory is not empty.</exception>
    /// <exception cref="WalReplicaException">The stream's parts do not fit together (a gap, a part of another log).</exception>
    public static RestoreReport Run(ReplicationOptions options, string directory, CancellationToken cancellationToken = default) =>
        RunAsync(options, directory, cancellationToken).GetAwaiter().GetResult();

    /// <inheritdoc cref="Run"/>
    public static async Task<RestoreReport> RunAsync(ReplicationOptions options, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(directory);
        var elapsed = Stopwatch.StartNew();
        directory = Path.GetFullPath(directory);
        PrepareTarget(directory);
        await using ReplicaStream stream = await ReplicaStream.OpenAsync(options, logId: null, create: false, cancellationToken).ConfigureAwait(false);
        (long count, ulong lastSequence, _) = await stream.StateAsync(cancellationToken).ConfigureAwait(false);
        if (count == 0)
        {
            throw new WalStreamException(WalStreamException.NotFoundErrorId, $"The stream '{stream.Name}' at {options.Servers} holds nothing to restore.");
        }

        var building = new SortedDictionary<long, SegmentAssembly>();
        var order = new ReplicaOrder(stream.Name);
        long messages = 0;
        long bytes = 0;
        long lastId = 0;
        int segments = 0;
        int closed = 0;
        try
        {
            await foreach ((ReplicaMessage message, ulong sequence) in stream.ReadAsync(lastSequence, cancellationToken).ConfigureAwait(false))
            {
                if (order.Take(message, sequence) is { } hole) // or WalStreamForeign: a message of another log
                {
                    throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
                        $"Message {sequence} of the stream '{stream.Name}' ({message.Kind} of segment {message.SegmentIndex}) does not follow the messages before it: {hole}. The restore stops rather than leave a segment open that the recorder closed; '{directory}' holds the segments completed before it."), directory);
                }

                messages++;
                bytes += ReplicaMessage.HeaderSize + message.Body.Length;
                lastId = Math.Max(lastId, message.LastEventId);
                if (message.Kind == ReplicaMessageKind.Open)
                {
                    building.Add(message.SegmentIndex, SegmentAssembly.Begin(directory, message.SegmentIndex, message.Body.Span, message.LogId));
                    segments++;
                    continue;
                }

                if (!building.TryGetValue(message.SegmentIndex, out SegmentAssembly? segment))
                {
                    throw new WalReplicaException(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
                        $"Message {sequence} of the stream '{stream.Name}' carries a {message.Kind} of segment {message.SegmentIndex}, which is not open: its header was not in the stream before it, or it was closed already."), directory);
                }

                switch (message.Kind)
                {
                    case ReplicaMessageKind.Blocks:
                        segment.AddBlocks(message.Offset, message.Body.Span);
                        break;
                    case ReplicaMessageKind.Stray:
                        segment.AddStray(message.Offset, message.Body.Span);
                        break;
                    default:
                        segment.Close(message.Body.Span, message.Offset);
                        segment.Complete();
                        segment.Dispose();
                        building.Remove(message.SegmentIndex);
                        closed++;
                        break;
                }
            }

            foreach (SegmentAssembly open in building.Values)
            {
                open.Complete(); // left open, as the recorder had it
            }
        }
        finally
        {
            foreach (SegmentAssembly open in building.Values)
            {
                open.Dispose();
            }
        }

        VerificationReport verification = SegmentVerifier.VerifyDirectory(directory);
        return new RestoreReport
        {
            Directory = directory,
            Stream = stream.Name,
            LogId = order.Log!.Value,
            Messages = messages,
            Bytes = bytes,
            Segments = segments,
            ClosedSegments = closed,
            LastEventId = lastId,
            Elapsed = elapsed.Elapsed,
            Verification = verification,
        };
    }

    /// <summary>Creates the directory, or checks that it is empty: a restore never mixes its segments with others.</summary>
    private static void PrepareTarget(string directory)
    {
        if (File.Exists(directory))
        {
            throw new WalNotADirectoryException(directory);
        }

        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new WalStreamException(WalStreamException.TargetNotEmptyErrorId,
                $"'{directory}' is not empty: a log is restored into an empty directory, so that nothing of another log mixes with it.", directory);
        }

        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WalDirectoryNotWritableException(directory, e);
        }
    }
}
