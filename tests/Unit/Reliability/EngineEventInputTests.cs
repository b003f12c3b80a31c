using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>Events larger than a block, empty payloads, and explicit ids that do not increase.</summary>
public class EngineEventInputTests
{
    private static readonly int MaxPayload = SegmentFormat.MaxPayloadSize(BadInput.Tiny.BlockSize);

    [Fact]
    public void The_largest_payload_fits_one_more_byte_is_WalEventTooLarge_and_the_recorder_goes_on()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 15);
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            // Named by the segment it would have gone into (its path holds the directory's).
            string segment = Wal.SegmentPath(recorder.Directory, recorder.ActiveSegmentIndex);
            var e = BadInput.Fails<WalEventTooLargeException>(() => recorder.Append(new byte[MaxPayload + 1]), segment, "WalEventTooLarge",
                $"{MaxPayload + 1} bytes", $"{MaxPayload} bytes", "block");
            Assert.Equal(MaxPayload + 1, e.PayloadLength);
            Assert.Equal(MaxPayload, e.MaxPayloadLength);
            BadInput.Fails<WalEventTooLargeException>(() => recorder.Append(16, new byte[MaxPayload + 1]), segment, "WalEventTooLarge");
            BadInput.Fails<WalEventTooLargeException>(() => recorder.Append(new byte[int.MaxValue / 2]), segment, "WalEventTooLarge");
            Assert.Equal(15, recorder.LastEventId); // the refused ones took no id
            for (long id = 16; id <= 30; id++)
            {
                Assert.Equal(id, recorder.Append(BadInput.Payload(id), (ushort)(id % 7)));
            }
        }

        BadInput.AssertHolds(temp.Path, 30);
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            Assert.Equal(31, recorder.Append(new byte[MaxPayload]));
            Assert.Equal(32, recorder.Append(ReadOnlySpan<byte>.Empty));
        }

        using WalRecovery recovery = WalRecovery.Open(temp.Path);
        var lengths = new List<int>();
        Assert.True(recovery.Run(31, e => lengths.Add(e.Payload.Length)).IsComplete);
        Assert.Equal([MaxPayload, 0], lengths);
    }

    [Fact]
    public void The_host_refuses_a_payload_larger_than_a_block_at_submission_and_goes_on()
    {
        using var temp = new TempDirectory();
        string wal = temp.File("wal");
        using (WalRecorderHost host = WalRecorderHost.Start(wal, new WalRecorderHostOptions { Recorder = BadInput.Tiny }))
        {
            Assert.Equal(1, host.Submit(BadInput.Payload(1), 1, SubmitWait.Committed));
            BadInput.Fails<WalEventTooLargeException>(() => host.Submit(new byte[MaxPayload + 1]), wal, "WalEventTooLarge", $"{MaxPayload + 1} bytes", $"{MaxPayload} bytes");
            BadInput.Fails<WalEventTooLargeException>(() => host.TrySubmit(new byte[MaxPayload + 1]), wal, "WalEventTooLarge");
            BadInput.Fails<WalEventTooLargeException>(() => host.SubmitAsync(new byte[MaxPayload + 1]).AsTask(), wal, "WalEventTooLarge");
            Assert.Equal(2, host.Submit(BadInput.Payload(2), 2, SubmitWait.Durable));
            Assert.Equal(3, host.Submit(new byte[MaxPayload], 3, SubmitWait.Committed));
            Assert.Equal(4, host.Submit([], 4, SubmitWait.Committed));
            Assert.Equal(0, host.Failed);
        }

        using var recovery = WalRecovery.Open(wal);
        var lengths = new List<int>();
        recovery.Run(1, e => lengths.Add(e.Payload.Length));
        Assert.Equal([BadInput.Payload(1).Length, BadInput.Payload(2).Length, MaxPayload, 0], lengths);
    }

    public static TheoryData<string, long> NonIncreasing => new()
    {
        { "equal", 20 },
        { "smaller", 7 },
        { "zero", 0 },
        { "negative", -1 },
        { "long.MinValue", long.MinValue },
    };

    [Theory]
    [MemberData(nameof(NonIncreasing))]
    public void An_id_that_does_not_increase_is_WalEventId_naming_both_ids_and_nothing_changes(string name, long id)
    {
        Assert.NotNull(name);
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            var e = BadInput.Fails<WalEventIdException>(() => recorder.Append(id, [1, 2, 3]), recorder.Directory, "WalEventIdNotIncreasing",
                $"Event id {id} ", "previous event", "has id 20");
            Assert.Equal(id, e.EventId);
            Assert.Equal(20, e.PreviousEventId);
            Assert.Equal(20, recorder.LastEventId);
            Assert.Equal(21, recorder.Append(BadInput.Payload(21), 0));
        }

        Assert.Equal(21, WalCatalog.Open(temp.Path).LastEventId);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-5L)]
    public void An_id_below_1_in_a_new_log_is_WalEventId_saying_ids_start_at_1(long id)
    {
        using var temp = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny);
        BadInput.Fails<WalEventIdException>(() => recorder.Append(id, [1]), recorder.Directory, "WalEventIdNotIncreasing", $"Event id {id} is not valid", "start at 1");
        Assert.Equal(1, recorder.Append(1, [1]));
    }

    [Fact]
    public void Explicit_ids_may_jump_and_long_MaxValue_is_the_last_id_a_log_can_take()
    {
        using var temp = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            Assert.Equal(5, recorder.Append(5, [5]));
            Assert.Equal(1_000_000, recorder.Append(1_000_000, [6]));
            Assert.Equal(long.MaxValue, recorder.Append(long.MaxValue, [7]));

            // No id comes after it: the next implicit id would overflow to a negative one, which the segment refuses.
            BadInput.Fails<WalEventIdException>(() => recorder.Append([8]), Wal.SegmentPath(recorder.Directory, recorder.ActiveSegmentIndex), "WalEventIdNotIncreasing", "does not increase", "9223372036854775807");
            BadInput.Fails<WalEventIdException>(() => recorder.Append(long.MaxValue, [8]), recorder.Directory, "WalEventIdNotIncreasing");
            Assert.Equal(long.MaxValue, recorder.LastEventId);
        }

        using var recovery = WalRecovery.Open(temp.Path);
        var ids = new List<long>();
        Assert.True(recovery.Run(1, e => ids.Add(e.EventId)).IsComplete);
        Assert.Equal([5L, 1_000_000L, long.MaxValue], ids);
    }
}
