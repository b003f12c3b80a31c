using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlashWal.Format;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every structure on disk.
/// Uses <see cref="BitOperations.Crc32C(uint, ulong)"/>, which the JIT turns into the SSE4.2 / ARMv8
/// CRC instructions, eight bytes per step, in three independent lanes for long inputs.
/// </summary>
/// <remarks>
/// <see cref="Compute"/> and <see cref="Append"/> work on finished CRC values (initial value and
/// final XOR 0xFFFFFFFF, as in iSCSI, ext4 and RFC 3720): <c>Append(Compute(a), b) == Compute(a ‖ b)</c>.
/// The writer instead keeps the raw register (<see cref="Begin"/>, <see cref="Update(uint, ReadOnlySpan{byte})"/>,
/// <see cref="Finish"/>) so that a block's checksum grows with each record and sealing costs nothing.
/// </remarks>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Begin(), data));

    /// <summary>The CRC-32C of the bytes whose CRC is <paramref name="crc"/>, followed by <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => Finish(Update(~crc, data));

    /// <summary>The raw register for an empty input.</summary>
    public static uint Begin() => 0xFFFF_FFFFu;

    /// <summary>The finished CRC for a raw register.</summary>
    public static uint Finish(uint register) => ~register;

    /// <summary>Feeds <paramref name="data"/> into a raw register.</summary>
    /// <remarks>
    /// Inputs of <see cref="InterleaveThreshold"/> bytes or more go three lanes at a time (see
    /// <see cref="UpdateInterleaved"/>); shorter ones, which is every record the writer appends, one.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Update(uint register, ReadOnlySpan<byte> data) =>
        data.Length >= InterleaveThreshold ? UpdateInterleaved(register, data) : UpdateSerial(register, data);

    /// <summary>Bytes per lane of the interleaved loop.</summary>
    internal const int LaneLength = 1024;

    /// <summary>The shortest input worth three lanes: one whole round.</summary>
    internal const int InterleaveThreshold = 3 * LaneLength;

    /// <summary>
    /// Why three lanes: the CRC instruction can start one step per cycle but takes three cycles to
    /// finish, so a single dependent chain runs at a third of its speed. Each round feeds three
    /// consecutive lanes of <see cref="LaneLength"/> bytes into three independent registers (the first
    /// from <paramref name="register"/>, the others from zero) and joins them, which CRC linearity
    /// allows: <c>Update(r, A‖B) = Shift(Update(r, A), |B|) ^ Update(0, B)</c>, where <c>Shift(x, n)</c>
    /// is <c>Update(x, n zero bytes)</c>, a linear map applied here by four table lookups.
    /// Verifying a segment (every block's bytes) is what this speeds up.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint UpdateInterleaved(uint register, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        uint[] shift = LaneShift.Table;
        nuint length = (nuint)data.Length;
        nuint at = 0;
        for (; at + InterleaveThreshold <= length; at += InterleaveThreshold)
        {
            uint a = register;
            uint b = 0;
            uint c = 0;
            ref byte lane = ref Unsafe.Add(ref p, at);
            for (nuint i = 0; i < LaneLength; i += 8)
            {
                a = BitOperations.Crc32C(a, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i)));
                b = BitOperations.Crc32C(b, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i + LaneLength)));
                c = BitOperations.Crc32C(c, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i + (2 * LaneLength))));
            }

            register = ShiftLane(shift, ShiftLane(shift, a) ^ b) ^ c;
        }

        return UpdateSerial(register, data[(int)at..]);
    }

    /// <summary>One dependent chain, eight bytes per step.</summary>
    internal static uint UpdateSerial(uint register, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;
        for (; i + 8 <= length; i += 8)
        {
            register = BitOperations.Crc32C(register, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
        }

        if (i + 4 <= length)
        {
            register = BitOperations.Crc32C(register, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i)));
            i += 4;
        }

        for (; i < length; i++)
        {
            register = BitOperations.Crc32C(register, Unsafe.Add(ref p, i));
        }

        return register;
    }

    /// <summary><c>Update(x, LaneLength zero bytes)</c>, one lookup per byte of <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ShiftLane(uint[] table, uint x) =>
        table[x & 0xFF] ^ table[256 + ((x >> 8) & 0xFF)] ^ table[512 + ((x >> 16) & 0xFF)] ^ table[768 + (x >> 24)];

    /// <summary>The table of <c>Update(v &lt;&lt; 8k, LaneLength zeros)</c> for each byte value v and byte position k.</summary>
    private static class LaneShift
    {
        public static readonly uint[] Table = Build();

        private static uint[] Build()
        {
            // The map is linear over GF(2): shift each of the 32 single-bit registers through the zeros
            // once, then every byte value is the XOR of its bits' images.
            Span<byte> zeros = stackalloc byte[LaneLength];
            zeros.Clear();
            Span<uint> bit = stackalloc uint[32];
            for (int j = 0; j < 32; j++)
            {
                bit[j] = UpdateSerial(1u << j, zeros);
            }

            var table = new uint[4 * 256];
            for (int k = 0; k < 4; k++)
            {
                for (int v = 0; v < 256; v++)
                {
                    uint image = 0;
                    for (int j = 0; j < 8; j++)
                    {
                        if ((v & (1 << j)) != 0)
                        {
                            image ^= bit[(8 * k) + j];
                        }
                    }

                    table[(256 * k) + v] = image;
                }
            }

            return table;
        }
    }

    /// <summary>Feeds <paramref name="length"/> bytes at <paramref name="data"/> into a raw register.</summary>
    /// <remarks>For mapped regions that may exceed <see cref="int.MaxValue"/> bytes.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per block of every scan: see SegmentScanner.WalkBlocks
    public static unsafe uint Update(uint register, byte* data, long length)
    {
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, 1 << 30);
            register = Update(register, new ReadOnlySpan<byte>(data, chunk));
            data += chunk;
            length -= chunk;
        }

        return register;
    }
}
