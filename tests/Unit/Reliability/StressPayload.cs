using System.Buffers.Binary;
using FlashWal.Format;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// The stress test's events: producer p's event number s (its sequence, from 0) has type p + 1 and a
/// payload whose length and bytes are pure functions of (seed, p, s), so that any reader can check
/// every byte of it without a copy of what was written. A payload is the first <c>length</c> bytes of
/// a self-describing image: producer (4 bytes), sequence (8), length (4), a CRC-32C of those and of
/// the content (4), then content drawn from a generator seeded with (seed, p, s). A payload of 12
/// bytes or more names its producer and sequence (a reader starting mid-log synchronises on it).
/// </summary>
public static class StressPayload
{
    /// <summary>Producer, sequence, length and checksum.</summary>
    public const int HeaderSize = 20;

    /// <summary>The shortest payload that names its sequence.</summary>
    public const int Decodable = 12;

    /// <summary>Length of producer p's event s: skewed toward small, 1% empty, 1% exactly the maximum, 1.5% anywhere up to it.</summary>
    public static int Length(int seed, int producer, long seq, int max)
    {
        ulong h = Key(seed, producer, seq);
        int r = (int)(h % 1000);
        ulong h2 = h >> 24;
        int length = r switch
        {
            < 10 => 0,
            < 20 => max,
            < 35 => (int)(h2 % (ulong)(max + 1)),
            < 285 => 64 + (int)(h2 % 448),
            _ => (int)(h2 % 64),
        };
        return Math.Min(length, max);
    }

    /// <summary>Writes producer p's event s into <paramref name="destination"/>, whose length is the event's length.</summary>
    public static void Fill(Span<byte> destination, int seed, int producer, long seq)
    {
        int length = destination.Length;
        Span<byte> head = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteInt32LittleEndian(head, producer);
        BinaryPrimitives.WriteInt64LittleEndian(head[4..], seq);
        BinaryPrimitives.WriteInt32LittleEndian(head[12..], length);
        uint crc = Crc32C.Compute(head[..16]);
        if (length > HeaderSize)
        {
            Span<byte> content = destination[HeaderSize..];
            ulong state = Key(seed, producer, seq) | 1;
            int i = 0;
            for (; i + 8 <= content.Length; i += 8)
            {
                state = Next(state);
                BinaryPrimitives.WriteUInt64LittleEndian(content[i..], state);
            }

            if (i < content.Length)
            {
                state = Next(state);
                Span<byte> last = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(last, state);
                last[..(content.Length - i)].CopyTo(content[i..]);
            }

            crc = Crc32C.Append(crc, content);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(head[16..], crc);
        head[..Math.Min(length, HeaderSize)].CopyTo(destination);
    }

    /// <summary>The producer and sequence a payload names, when it is long enough to name them.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out int producer, out long seq)
    {
        if (payload.Length < Decodable)
        {
            producer = -1;
            seq = -1;
            return false;
        }

        producer = BinaryPrimitives.ReadInt32LittleEndian(payload);
        seq = BinaryPrimitives.ReadInt64LittleEndian(payload[4..]);
        return true;
    }

    /// <summary>A 64-bit hash of (seed, producer, sequence) (SplitMix64's finaliser, twice).</summary>
    public static ulong Key(int seed, int producer, long seq) =>
        Mix(Mix(((ulong)(uint)seed << 32) ^ (uint)producer) ^ (ulong)seq);

    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    private static ulong Next(ulong x)
    {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    }
}
