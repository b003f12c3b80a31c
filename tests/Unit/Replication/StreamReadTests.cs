using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Replication;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Replication;

/// <summary>
/// A log read straight from its replica stream, without restoring it (issue 17): the same events as
/// the log on disk, filtered as a local read is; a block damaged inside a well-formed message is
/// found by the scanner's own checks, after every event before it, and a restore of that stream
/// does not verify intact.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class StreamReadTests
{
    [NatsClusterFact]
    public async Task Events_read_from_the_stream_are_the_logs_and_damage_in_a_block_is_found()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        long last = ShipAndRestoreTests.Record(dir.Path, events: 2500, commitEvery: 13);
        var options = new ReplicationOptions { Servers = cluster.Urls };
        string stream;
        using (LogShipper shipper = LogShipper.Start(dir.Path, options))
        {
            Assert.True(shipper.WaitForEnd(TimeSpan.FromSeconds(60)));
            stream = shipper.Stream;
        }

        var local = Wal.ReadLog(dir.Path).Select(e => (e.Id, e.Timestamp, e.Type, Convert.ToHexString(e.Payload))).ToList();
        Assert.Equal(local, Read(options with { Stream = stream }, EventFilter.All, out _));
        Assert.Equal(local.Where(e => e.Id >= 1500 && e.Type == 3).Take(10), Read(options, new EventFilter { FromEventId = 1500, Types = [3], First = 10 }, out _));

        // A copy of the stream with one byte of a block's records flipped, its message CRC made right again.
        string damaged = await CopyWithFlippedBlockByte(cluster, stream, blocksMessage: 3);
        var events = Read(options with { Stream = damaged }, EventFilter.All, out WalCorruptionException? found);
        Assert.NotNull(found);
        Assert.Equal(FindingCode.BlockChecksumMismatch, found.Finding.Code);
        Assert.StartsWith(damaged + "/", found.Finding.File, StringComparison.Ordinal);
        Assert.Equal(local.Take(events.Count), events); // every event before the damaged block, none after
        Assert.True(events.Count > 0 && events.Count < last);

        using var restored = new TempDirectory();
        RestoreReport report = LogRestore.Run(options with { Stream = damaged }, Path.Combine(restored.Path, "log"));
        Assert.False(report.Verification.IsIntact);
        Assert.Contains(report.Verification.Findings, f => f.Code == FindingCode.BlockChecksumMismatch);
    }

    private static List<(long, long, ushort, string)> Read(ReplicationOptions options, EventFilter filter, out WalCorruptionException? damage)
    {
        var events = new List<(long, long, ushort, string)>();
        damage = null;
        using StreamEventReader reader = StreamEventReader.Open(options, filter);
        try
        {
            while (reader.TryReadNext(out WalEvent e))
            {
                events.Add((e.EventId, e.TimestampUnixNs, e.Type, Convert.ToHexString(e.Payload)));
            }
        }
        catch (WalCorruptionException e)
        {
            damage = e;
        }

        return events;
    }

    /// <summary>A copy of the stream <paramref name="source"/> with one byte of the <paramref name="blocksMessage"/>th blocks message flipped and its CRC made right again.</summary>
    private static Task<string> CopyWithFlippedBlockByte(NatsCluster cluster, string source, int blocksMessage)
    {
        int seen = 0;
        return StreamCopies.CopyAsync(cluster, source, "DAMAGED", (_, m) =>
        {
            if (m.Kind == ReplicaMessageKind.Blocks && ++seen == blocksMessage)
            {
                Span<byte> body = MemoryMarshal.AsMemory(m.Body).Span;
                body[SegmentFormat.BlockHeaderSize + 30] ^= 0x40; // in the first block's records
            }

            return true;
        });
    }
}
