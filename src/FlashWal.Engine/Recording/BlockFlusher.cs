namespace FlashWal.Recording;

/// <summary>
/// The recorder's thread that writes sealed blocks from the staging ring into the segment files, so
/// that the writer never makes a system call to commit a full block or to start a segment.
/// </summary>
/// <remarks>
/// It drains the ring whenever it finds blocks there and sleeps a millisecond when it finds none:
/// a block filled by appends reaches the file (and readers) within about a millisecond. A commit does
/// not wait for it: the writer drains what is left itself (<see cref="StagingRing.WaitWritten"/>).
/// A failed write stops the recorder (the listener's <c>Halt</c>); nothing sealed after it is written.
/// </remarks>
internal sealed class BlockFlusher
{
    private readonly StagingRing _ring;
    private readonly Action<Exception> _failed;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private volatile bool _abandon;

    public BlockFlusher(StagingRing ring, Action<Exception> failed, Action? placeThread = null)
    {
        _placeThread = placeThread;
        _ring = ring;
        _failed = failed;
        _thread = new Thread(Run) { IsBackground = true, Name = "FlashWal flusher" };
    }

    public void Start() => _thread.Start();

    /// <summary>Writes what is queued, then ends the thread.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    /// <summary>Ends the thread without writing what is queued: a killed process (crash tests).</summary>
    public void Abandon()
    {
        _abandon = true;
        Stop();
    }

    private readonly Action? _placeThread;

    private void Run()
    {
        _placeThread?.Invoke();
        while (!_abandon)
        {
            bool stopping = _stopping;
            bool wrote;
            try
            {
                if (!_ring.TryDrain(out wrote))
                {
                    wrote = true; // the writer is draining: look again at once
                    Thread.Yield();
                }
            }
            catch (Exception e)
            {
                // Never take the process down from a background thread: the recorder stops and reports it.
                _failed(e);
                return;
            }

            if (stopping && !wrote)
            {
                return; // everything queued before the stop request is written
            }

            if (!wrote)
            {
                Thread.Sleep(1);
            }
        }
    }
}
