using System.Text;
using FlashWal.Format;

namespace FlashWal.Tests.Format;

public class Crc32CTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    [InlineData("abc", 0x364B3FB7u)]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void Known_ascii_vectors(string text, uint expected) =>
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));

    // RFC 3720 (iSCSI), appendix B.4.
    [Fact]
    public void Rfc3720_vectors()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void Matches_a_bitwise_reference_at_every_length_and_alignment()
    {
        var random = new Random(42);
        byte[] data = new byte[300];
        random.NextBytes(data);
        for (int start = 0; start < 9; start++)
        {
            for (int length = 0; length + start <= data.Length; length += 7)
            {
                ReadOnlySpan<byte> slice = data.AsSpan(start, length);
                Assert.Equal(Reference(slice), Crc32C.Compute(slice));
            }
        }
    }

    [Fact]
    public void Three_lane_rounds_match_the_bitwise_reference_around_every_round_boundary()
    {
        // Long inputs go three lanes at a time and are joined by table lookups; a wrong table or a
        // wrong join shows at the first whole round, so test each length around 1, 2 and 3 rounds.
        var random = new Random(11);
        byte[] data = new byte[(3 * Crc32C.InterleaveThreshold) + 64];
        random.NextBytes(data);
        foreach (int round in new[] { 1, 2, 3 })
        {
            for (int length = (round * Crc32C.InterleaveThreshold) - 9; length <= (round * Crc32C.InterleaveThreshold) + 9; length++)
            {
                for (int start = 0; start < 3; start++)
                {
                    ReadOnlySpan<byte> slice = data.AsSpan(start, length);
                    Assert.Equal(Reference(slice), Crc32C.Compute(slice));
                }
            }
        }
    }

    [Fact]
    public void Three_lanes_continue_any_register_like_one_lane()
    {
        byte[] data = new byte[65_472]; // a 64 KiB block's bytes after its header
        new Random(5).NextBytes(data);
        foreach (uint register in new[] { 0u, 1u, 0x8000_0000u, 0xFFFF_FFFFu, 0x1234_5678u })
        {
            Assert.Equal(Crc32C.UpdateSerial(register, data), Crc32C.UpdateInterleaved(register, data));
        }
    }

    [Fact]
    public void Append_continues_a_finished_crc()
    {
        byte[] data = Encoding.ASCII.GetBytes("123456789 and then some more bytes");
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(Crc32C.Compute(data), Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }

    [Fact]
    public unsafe void Pointer_overload_matches_span_overload()
    {
        byte[] data = new byte[1000];
        new Random(7).NextBytes(data);
        fixed (byte* p = data)
        {
            Assert.Equal(Crc32C.Compute(data), Crc32C.Finish(Crc32C.Update(Crc32C.Begin(), p, data.Length)));
        }
    }

    private static uint Reference(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
