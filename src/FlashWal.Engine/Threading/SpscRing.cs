using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlashWal.Threading;

/// <summary>
/// A bounded, lock-free ring for exactly one producer thread and one consumer thread. Every slot is
/// usable (the indices are 64-bit counters, not wrapped positions), nothing allocates after
/// construction, and each side reads the other's index only when its cached copy says the ring
/// looks full (producer) or empty (consumer).
/// </summary>
/// <remarks>
/// Hand-off publishes memory: everything the producer wrote before <see cref="TryEnqueue"/> is
/// visible to the consumer after <see cref="TryDequeue"/> returns the item (release/acquire on the
/// indices), so objects that are not thread-safe can move between threads through it.
/// </remarks>
internal sealed class SpscRing<T>
{
    private readonly T[] _slots;
    private readonly long _mask;
    private PaddedLong _head;        // next slot to write; written by the producer only
    private PaddedLong _tail;        // next slot to read; written by the consumer only
    private PaddedLong _cachedTail;  // producer's copy of _tail
    private PaddedLong _cachedHead;  // consumer's copy of _head

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two.</summary>
    public SpscRing(int capacity)
    {
        if (capacity < 1 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two.");
        }

        _slots = new T[capacity];
        for (int i = 0; i < capacity; i++)
        {
            // Touch every slot now: the runtime hands a large array out in fresh pages that nothing has
            // stored into, and the producer's first lap through them would take a page fault per page
            // (the staging ring's queue: 64 per 4 KiB of slots, on the writer's thread).
            _slots[i] = default!;
        }
        _mask = capacity - 1;
    }

    /// <summary>How many items the ring holds at most (all slots are usable).</summary>
    public int Capacity => _slots.Length;

    /// <summary>Items in the ring now (a snapshot; exact only on the producer or consumer thread when the other is idle).</summary>
    public int Count => (int)(Volatile.Read(ref _head.Value) - Volatile.Read(ref _tail.Value));

    /// <summary>Producer: adds <paramref name="item"/>; false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a rotation's hand-offs run once per segment: see WalRecorder.Rotate
    public bool TryEnqueue(T item)
    {
        long head = _head.Value;
        if (head - _cachedTail.Value >= _slots.Length)
        {
            _cachedTail.Value = Volatile.Read(ref _tail.Value);
            if (head - _cachedTail.Value >= _slots.Length)
            {
                return false;
            }
        }

        _slots[head & _mask] = item;
        Volatile.Write(ref _head.Value, head + 1);
        return true;
    }

    /// <summary>Consumer: takes the oldest item; false when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        long tail = _tail.Value;
        if (tail >= _cachedHead.Value)
        {
            _cachedHead.Value = Volatile.Read(ref _head.Value);
            if (tail >= _cachedHead.Value)
            {
                item = default;
                return false;
            }
        }

        long slot = tail & _mask;
        item = _slots[slot];
        _slots[slot] = default!; // drop the reference for the collector
        Volatile.Write(ref _tail.Value, tail + 1);
        return true;
    }
}

/// <summary>A long alone on its cache line (and the adjacent one, against the prefetcher), so producer and consumer never share one.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}
