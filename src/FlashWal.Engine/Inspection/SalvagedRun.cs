using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Blocks of a damaged segment that verify on their own (header CRC, chain CRC over their own seed,
/// data CRC, records) and follow each other without a break, found after the damage that ends the
/// segment's valid prefix or a previous run.
/// </summary>
/// <param name="Damage">What was lost just before this run: where, which block, why.</param>
/// <param name="BlockOffsets">File offsets of the run's blocks, in order.</param>
/// <param name="FirstBlockIndex">Block index of the run's first block.</param>
/// <param name="FirstEventId">First event id of the run.</param>
/// <param name="LastEventId">Last event id of the run.</param>
public sealed record SalvagedRun(Finding Damage, IReadOnlyList<long> BlockOffsets, int FirstBlockIndex, long FirstEventId, long LastEventId)
{
    /// <summary>The chain CRC of the run's last block: where the chain stands after it.</summary>
    public uint FinalChain { get; init; }
}
