using FlashWal.Threading;

namespace FlashWal.Tests.Threading;

public class SpscRingTests
{
    [Fact]
    public void Every_slot_is_usable_and_order_is_kept()
    {
        var ring = new SpscRing<string>(4);
        Assert.True(ring.TryEnqueue("a"));
        Assert.True(ring.TryEnqueue("b"));
        Assert.True(ring.TryEnqueue("c"));
        Assert.True(ring.TryEnqueue("d"));
        Assert.False(ring.TryEnqueue("e"));
        Assert.Equal(4, ring.Count);
        Assert.True(ring.TryDequeue(out string? first));
        Assert.Equal("a", first);
        Assert.True(ring.TryEnqueue("e"));
        Assert.Equal(["b", "c", "d", "e"], Drain(ring));
        Assert.False(ring.TryDequeue(out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(6)]
    public void Capacity_must_be_a_power_of_two(int capacity) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpscRing<string>(capacity));

    [Fact]
    public void Two_threads_pass_a_million_items_in_order()
    {
        var ring = new SpscRing<Box>(8);
        const int count = 1_000_000;
        var producer = new Thread(() =>
        {
            for (int i = 0; i < count; i++)
            {
                var box = new Box(i);
                while (!ring.TryEnqueue(box))
                {
                    Thread.SpinWait(1);
                }
            }
        });
        producer.Start();
        int expected = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (expected < count)
        {
            Assert.True(DateTime.UtcNow < deadline, "the ring stalled");
            if (ring.TryDequeue(out Box? box))
            {
                Assert.Equal(expected++, box.Value);
            }
        }

        producer.Join();
        Assert.Equal(0, ring.Count);
    }

    private sealed record Box(int Value);

    private static List<string> Drain(SpscRing<string> ring)
    {
        var items = new List<string>();
        while (ring.TryDequeue(out string? item))
        {
            items.Add(item);
        }

        return items;
    }
}
