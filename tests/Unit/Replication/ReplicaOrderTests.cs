using FlashWal.Format;
using FlashWal.Replication;

namespace FlashWal.Tests.Replication;

/// <summary>
/// The two halves of the stream's order (FORMAT.md §19.2, §19.6), without a server: a message's id names
/// the whole message, cursor included, so that two shippers' messages never pass for each other;
/// and a reader that follows the cursors finds a part that is missing instead of leaving a segment
/// open.
/// </summary>
public sealed class ReplicaOrderTests
{
    private static readonly LogId Log = LogId.NewId();

    /// <summary>A message as the shipper writes it: the header over the body, decoded back.</summary>
    private static ReplicaMessage Message(ReplicaMessageKind kind, long segment, long offset, int bodyLength, long cursorSegment, long cursorOffset, long pendingFrom)
    {
        byte[] bytes = new byte[ReplicaMessage.HeaderSize + bodyLength];
        ReplicaMessage.WriteHeader(bytes, kind, Log, segment, offset, 0, 0, 0, cursorSegment, cursorOffset, pendingFrom, bodyLength);
        return ReplicaMessage.TryRead(bytes, out string? problem) ?? throw new InvalidOperationException(problem);
    }

    private const int Data = SegmentFormat.DataOffset;

    /// <summary>
    /// Two shippers' orders of the same log from the same place: the first ships the blocks of
    /// segment 1 before the close of segment 0, the second (a later process, or the same one after a
    /// failure) ships the close first. Their blocks are the same bytes but leave different cursors.
    /// </summary>
    private static (ReplicaMessage[] First, ReplicaMessage[] Second) TwoOrders()
    {
        ReplicaMessage[] common =
        [
            Message(ReplicaMessageKind.Open, 0, 0, 128, 0, Data, 0),
            Message(ReplicaMessageKind.Blocks, 0, Data, 8192, 0, Data + 8192, 0),
            Message(ReplicaMessageKind.Open, 1, 0, 128, 1, Data, 0),
        ];
        ReplicaMessage[] blocksFirst =
        [
            .. common,
            Message(ReplicaMessageKind.Blocks, 1, Data, 4096, 1, Data + 4096, 0),
            Message(ReplicaMessageKind.Close, 0, 65536, 64, 1, Data + 4096, 1),
            Message(ReplicaMessageKind.Blocks, 1, Data + 4096, 4096, 1, Data + 8192, 1),
        ];
        ReplicaMessage[] closeFirst =
        [
            .. common,
            Message(ReplicaMessageKind.Close, 0, 65536, 64, 1, Data, 1),
            Message(ReplicaMessageKind.Blocks, 1, Data, 4096, 1, Data + 4096, 1),
            Message(ReplicaMessageKind.Blocks, 1, Data + 4096, 4096, 1, Data + 8192, 1),
        ];
        return (blocksFirst, closeFirst);
    }

    [Fact]
    public void The_same_blocks_leaving_another_cursor_are_another_message_id()
    {
        (ReplicaMessage[] first, ReplicaMessage[] second) = TwoOrders();
        ReplicaMessage blocksBeforeClose = first[3];
        ReplicaMessage blocksAfterClose = second[4];
        Assert.Equal((blocksBeforeClose.SegmentIndex, blocksBeforeClose.Offset, blocksBeforeClose.Body.Length), (blocksAfterClose.SegmentIndex, blocksAfterClose.Offset, blocksAfterClose.Body.Length));

        // Were these one id, the second shipper's next blocks (which name it as their predecessor)
        // would be stored after the first shipper's, and the close of segment 0 would never be.
        Assert.NotEqual(blocksBeforeClose.MessageId, blocksAfterClose.MessageId);
        Assert.NotEqual(first[4].MessageId, second[3].MessageId); // the close, shipped at two places

        // The same message published twice (a re-send) keeps its id: the server stores it once.
        Assert.Equal(first[3].MessageId, TwoOrders().First[3].MessageId);
        Assert.Equal(ReplicaMessage.IdOf(Log, 1, ReplicaMessageKind.Blocks, Data, 4096, 1, Data + 4096, 0), blocksBeforeClose.MessageId);
    }

    [Fact]
    public void Either_shippers_order_is_followed_to_the_end()
    {
        (ReplicaMessage[] first, ReplicaMessage[] second) = TwoOrders();
        foreach (ReplicaMessage[] order in new[] { first, second })
        {
            var reader = new ReplicaOrder("TEST");
            for (int i = 0; i < order.Length; i++)
            {
                Assert.Null(reader.Take(order[i], (ulong)i + 1));
            }
        }
    }

    [Fact]
    public void A_close_skipped_by_mixing_the_two_orders_is_found_at_the_first_message_after_it()
    {
        // What the server stored when the first shipper's blocks landed late and the second shipper's
        // next blocks followed them (the id was one for both, before it named the cursor).
        (ReplicaMessage[] first, ReplicaMessage[] second) = TwoOrders();
        ReplicaMessage[] mixed = [.. first[..4], second[5]];
        var reader = new ReplicaOrder("TEST");
        for (int i = 0; i < 4; i++)
        {
            Assert.Null(reader.Take(mixed[i], (ulong)i + 1));
        }

        string? problem = reader.Take(mixed[4], 5);
        Assert.NotNull(problem);
        Assert.Contains("with segments from 1 not yet closed, but the messages up to it leave segment 1 offset 12288 with segments from 0 not yet closed: the close of segment 0 is missing", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gap_a_close_out_of_order_and_a_segment_skipped_are_each_found()
    {
        (ReplicaMessage[] first, _) = TwoOrders();

        var gap = new ReplicaOrder("TEST");
        Assert.Null(gap.Take(first[0], 1));
        Assert.Contains("messages 2 to 2 are missing", gap.Take(first[1], 3), StringComparison.Ordinal);

        var closeTooEarly = new ReplicaOrder("TEST");
        Assert.Null(closeTooEarly.Take(first[0], 1));
        Assert.Contains("the close of segment 1, which is not open", closeTooEarly.Take(Message(ReplicaMessageKind.Close, 1, 65536, 64, 0, Data, 2), 2), StringComparison.Ordinal);

        var closeSkipped = new ReplicaOrder("TEST");
        for (int i = 0; i < 3; i++)
        {
            Assert.Null(closeSkipped.Take(first[i], (ulong)i + 1));
        }

        Assert.Contains("it closes segment 1 before segment 0: the close of segment 0 is missing", closeSkipped.Take(Message(ReplicaMessageKind.Close, 1, 65536, 64, 1, Data, 2), 4), StringComparison.Ordinal);

        var skipped = new ReplicaOrder("TEST");
        Assert.Null(skipped.Take(first[0], 1));
        Assert.Contains("opens segment 2 after segment 0", skipped.Take(Message(ReplicaMessageKind.Open, 2, 0, 128, 2, Data, 0), 2), StringComparison.Ordinal);

        var misplacedBlocks = new ReplicaOrder("TEST");
        Assert.Null(misplacedBlocks.Take(first[0], 1));
        Assert.Contains("the blocks before them end in segment 0 at offset 4096", misplacedBlocks.Take(Message(ReplicaMessageKind.Blocks, 0, Data + 4096, 4096, 0, Data + 8192, 0), 2), StringComparison.Ordinal);
    }

    [Fact]
    public void The_stored_message_id_is_read_from_the_headers_the_server_returns()
    {
        string headers = Convert.ToBase64String("NATS/1.0\r\nNats-Expected-Last-Msg-Id: a\r\nNats-Msg-Id: log:1:blocks:4096:10:1:4106:0\r\n\r\n"u8.ToArray());
        Assert.Equal("log:1:blocks:4096:10:1:4106:0", ReplicaStream.StoredMessageId(headers));
        Assert.Null(ReplicaStream.StoredMessageId(Convert.ToBase64String("NATS/1.0\r\nOther: x\r\n\r\n"u8.ToArray())));
        Assert.Null(ReplicaStream.StoredMessageId(null));
    }
}
