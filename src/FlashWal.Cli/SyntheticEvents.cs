using System.Buffers.Binary;

namespace FlashWal.Cli;

/// <summary>
/// Payloads derived from the event id alone, so that whoever reads the log back (tests, crash
/// drills) can check every byte without having kept a copy.
/// </summary>
internal static class SyntheticEvents
{
    /// <summary>The type tag synthetic events carry.</summary>
    public const ushort Type = 1;

    /// <summary>Fills <paramref name="payload"/> with the bytes of event <paramref name="eventId"/>.</summary>
    public static void Fill(long eventId, Span<byte> payload)
    {
        ulong state = (ulong)eventId * 0x9E37_79B9_7F4A_7C15UL;
        int i = 0;
        for (; i + 8 <= payload.Length; i += 8)
        {
            state ^= state >> 29;
            state *= 0xBF58_476D_1CE4_E5B9UL;
            BinaryPrimitives.WriteUInt64LittleEndian(payload[i..], state);
        }

        for (; i < payload.Length; i++)
        {
            payload[i] = (byte)(state >> (8 * (i & 7)));
        }
    }

    /// <summary>Whether <paramref name="payload"/> holds exactly the bytes of event <paramref name="eventId"/>.</summary>
    public static bool Matches(long eventId, ReadOnlySpan<byte> payload)
    {
        Span<byte> expected = payload.Length <= 4096 ? stackalloc byte[payload.Length] : new byte[payload.Length];
        Fill(eventId, expected);
        return expected.SequenceEqual(payload);
    }
}
