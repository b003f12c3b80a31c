using FlashWal.Errors;

namespace FlashWal.Recording;

/// <summary>
/// A payload buffer claimed from a <see cref="WalRecorderHost"/> (<see cref="WalRecorderHost.Claim"/>):
/// write the payload into <see cref="Payload"/>, then submit it once, or cancel it. The buffer is the
/// host's pooled envelope, so a payload built in place is copied once (into the recorder), not twice.
/// </summary>
/// <remarks>
/// A claim is used once: after a submit (that queued it) or a cancel, every member throws
/// <see cref="InvalidOperationException"/>, because the envelope went back to the pool and may
/// already carry another producer's event. A <see cref="TrySubmit"/> that found the queue full
/// leaves the claim open, to try again or cancel.
/// </remarks>
public readonly struct SubmissionClaim
{
    private readonly WalRecorderHost? _host;
    private readonly EventEnvelope? _envelope;
    private readonly short _version;

    internal SubmissionClaim(WalRecorderHost host, EventEnvelope envelope, short version)
    {
        _host = host;
        _envelope = envelope;
        _version = version;
    }

    /// <summary>The claimed payload, as long as asked for, to be written in place.</summary>
    /// <exception cref="InvalidOperationException">The claim was submitted or cancelled.</exception>
    public Span<byte> Payload
    {
        get
        {
            EventEnvelope envelope = Open();
            return envelope.Buffer.AsSpan(0, envelope.Length);
        }
    }

    /// <summary>Queues the event and returns at once (fire and forget). False when the queue is full and the host fails fast: the claim stays open.</summary>
    /// <exception cref="InvalidOperationException">The claim was submitted or cancelled.</exception>
    public bool TrySubmit()
    {
        _host!.SubmitClaim(Open(), SubmitWait.None, throwWhenFull: false, null, default, out bool queued);
        return queued;
    }

    /// <summary>Queues the event and blocks until it reached <paramref name="wait"/>; returns its id (0 for <see cref="SubmitWait.None"/>).</summary>
    /// <exception cref="InvalidOperationException">The claim was submitted or cancelled.</exception>
    /// <exception cref="WalQueueFullException">The queue is full and the host fails fast (the claim is given back).</exception>
    /// <exception cref="TimeoutException">It did not get there within <paramref name="timeout"/>.</exception>
    public long Submit(SubmitWait wait = SubmitWait.Appended, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        _host!.SubmitClaim(Open(), wait, throwWhenFull: true, timeout, cancellationToken, out _);

    /// <summary>Gives the claim up: nothing is submitted.</summary>
    /// <exception cref="InvalidOperationException">The claim was submitted or cancelled already.</exception>
    public void Cancel() => Open().Release();

    private EventEnvelope Open()
    {
        if (_envelope is null || !_envelope.Claimed || _envelope.Version != _version)
        {
            throw new InvalidOperationException("This claim was submitted or cancelled already (or never made): claim again for the next event.");
        }

        return _envelope;
    }
}
