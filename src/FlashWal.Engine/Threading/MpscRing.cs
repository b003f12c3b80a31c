using System.Diagnostics.CodeAnalysis;

namespace FlashWal.Threading;

/// <summary>
/// A bounded, lock-free ring for many producer threads and one consumer thread (Dmitry Vyukov's
/// bounded queue with a sequence number per cell). No allocation after construction; a producer
/// that finds the queue full is told so instead of waiting.
/// </summary>
internal sealed class MpscRing<T>
    where T : class
{
    private readonly Cell[] _cells;
    private readonly long _mask;
    private PaddedLong _enqueuePosition;
    private PaddedLong _dequeuePosition;

    /// <summary>Creates a queue of <paramref name="capacity"/> cells, a power of two of at least 2.</summary>
    public MpscRing(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two of at least 2.");
        }

        _cells = new Cell[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _cells[i].Sequence = i;
        }

        _mask = capacity - 1;
    }

    /// <summary>Cells in the queue.</summary>
    public int Capacity => _cells.Length;

    /// <summary>Items waiting (a snapshot).</summary>
    public int Count => (int)Math.Max(0, Volatile.Read(ref _enqueuePosition.Value) - Volatile.Read(ref _dequeuePosition.Value));

    /// <summary>Any thread: adds <paramref name="item"/>; false when the queue is full.</summary>
    public bool TryEnqueue(T item)
    {
        long position = Volatile.Read(ref _enqueuePosition.Value);
        while (true)
        {
            ref Cell cell = ref _cells[position & _mask];
            long sequence = Volatile.Read(ref cell.Sequence);
            long difference = sequence - position;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueuePosition.Value, position + 1, position) == position)
                {
                    cell.Item = item;
                    Volatile.Write(ref cell.Sequence, position + 1);
                    return true;
                }

                position = Volatile.Read(ref _enqueuePosition.Value);
            }
            else if (difference < 0)
            {
                return false; // full: the consumer has not freed this cell yet
            }
            else
            {
                position = Volatile.Read(ref _enqueuePosition.Value); // another producer took it
            }
        }
    }

    /// <summary>The single consumer: takes the oldest item; false when the queue is empty.</summary>
    public bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        long position = _dequeuePosition.Value;
        ref Cell cell = ref _cells[position & _mask];
        if (Volatile.Read(ref cell.Sequence) != position + 1)
        {
            item = null;
            return false;
        }

        item = cell.Item!;
        cell.Item = null;
        Volatile.Write(ref _dequeuePosition.Value, position + 1);
        Volatile.Write(ref cell.Sequence, position + _mask + 1);
        return true;
    }

    private struct Cell
    {
        public long Sequence;
        public T? Item;
    }
}
