namespace FlashWal.Reading;

/// <summary>Bytes of a segment file at an offset: a part of a <see cref="SegmentFrame"/> that is not zero.</summary>
/// <param name="Offset">Where the bytes lie in the file.</param>
/// <param name="Bytes">The bytes, as in the file.</param>
public readonly record struct SegmentBytes(long Offset, ReadOnlyMemory<byte> Bytes);
