using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace FlashWal.Format;

/// <summary>
/// 16 random bytes chosen when a log is created and repeated in every segment header, so that a
/// segment copied in from another log is recognised as foreign.
/// </summary>
public readonly record struct LogId(ulong Low, ulong High)
{
    /// <summary>Size on disk.</summary>
    public const int Size = 16;

    /// <summary>A fresh random id.</summary>
    public static LogId NewId()
    {
        Span<byte> bytes = stackalloc byte[Size];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    /// <summary>Reads the id from its 16 bytes on disk.</summary>
    public static LogId Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));

    /// <summary>Writes the id's 16 bytes.</summary>
    public void WriteTo(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Low);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], High);
    }

    /// <summary>The 16 bytes in file order, as 32 lowercase hex digits.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        return Convert.ToHexString(bytes).ToLower(CultureInfo.InvariantCulture);
    }
}
