using FlashWal.Tests.Reliability;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The power-cut fuzzer's events: the stress set's self-describing payloads (<see cref="StressPayload"/>:
/// producer, sequence, length and a CRC, then content drawn from them), at least 20 bytes long so
/// every payload names its source. A recorder's epoch (each open of a directory by the case) is the
/// producer and the event id the sequence; a host's producer p in epoch e is 100·e + p with its own
/// sequence. So every byte read back can be checked, and an event of an earlier epoch told from one
/// that reused its id.
/// </summary>
internal static class PowerCutPayload
{
    public static int Length(int seed, int producer, long seq, int min, int max) =>
        min + (int)(StressPayload.Key(seed, producer, seq) % (ulong)(max - min + 1));

    public static byte[] Make(int seed, int producer, long seq, int min, int max)
    {
        byte[] payload = new byte[Length(seed, producer, seq, min, max)];
        StressPayload.Fill(payload, seed, producer, seq);
        return payload;
    }

    /// <summary>Whether <paramref name="payload"/> is exactly a payload this fuzzer writes, and whose.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, int seed, out int producer, out long seq)
    {
        if (payload.Length < StressPayload.HeaderSize || !StressPayload.TryDecode(payload, out producer, out seq))
        {
            producer = -1;
            seq = -1;
            return false;
        }

        Span<byte> expected = payload.Length <= 4096 ? stackalloc byte[payload.Length] : new byte[payload.Length];
        StressPayload.Fill(expected, seed, producer, seq);
        return payload.SequenceEqual(expected);
    }
}
