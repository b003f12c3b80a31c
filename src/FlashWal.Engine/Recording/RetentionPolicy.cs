namespace FlashWal.Recording;

/// <summary>
/// Which closed, durable segments the recorder keeps. Every limit is optional; a segment is deleted
/// only when it is closed, flushed, not the active one, and some limit no longer keeps it. Nothing
/// else ever deletes data.
/// </summary>
public sealed record RetentionPolicy
{
    /// <summary>Keep everything (the default).</summary>
    public static RetentionPolicy KeepEverything { get; } = new();

    /// <summary>Keep at most this many segments (the active one included).</summary>
    public int? MaxSegments { get; init; }

    /// <summary>Keep at most this many bytes of segment files (the active one included).</summary>
    public long? MaxBytes { get; init; }

    /// <summary>Delete closed segments whose close time is older than this.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>
    /// Compress closed segments into <c>.walz</c> containers once this many newer segments exist
    /// (0: as soon as they are closed). Readers and verifiers read them transparently. Null: never.
    /// </summary>
    public int? CompressAfter { get; init; }

    /// <summary>Whether any limit is set.</summary>
    public bool DeletesAnything => MaxSegments is not null || MaxBytes is not null || MaxAge is not null;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first limit out of range.</summary>
    public void Validate()
    {
        if (MaxSegments is < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSegments), MaxSegments, "Keep at least 2 segments (the active one and one closed).");
        }

        if (MaxBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "The byte limit must be positive.");
        }

        if (CompressAfter is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CompressAfter), CompressAfter, "CompressAfter must be 0 or more.");
        }

        if (MaxAge is { } age && age <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAge), MaxAge, "The age limit must be positive.");
        }
    }
}
