using FlashWal.Reading;

namespace FlashWal.Recovery;

/// <summary>Receives each replayed event. The payload is valid only during the call.</summary>
/// <param name="walEvent">The event, in place in the mapped segment.</param>
public delegate void ReplayHandler(WalEvent walEvent);
