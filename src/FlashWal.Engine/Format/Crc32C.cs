using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlashWal.Format;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every structure on disk.
/// Uses <see cref="BitOperations.Crc32C(uint, ulong)"/>, which the JIT turns into the SSE4.2 / ARMv8
/// CRC instructions, eight bytes per step.
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Update(uint register, ReadOnlySpan<byte> data)
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

    /// <summary>Feeds <paramref name="length"/> bytes at <paramref name="data"/> into a raw register.</summary>
    /// <remarks>For mapped regions that may exceed <see cref="int.MaxValue"/> bytes.</remarks>
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
