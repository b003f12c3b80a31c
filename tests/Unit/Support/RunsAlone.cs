namespace FlashWal.Tests.Support;

/// <summary>
/// Tests that must not share the process with others running at the same time: they count what
/// one thread does (its page faults) or find threads by name among the process's.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Runs alone";
}
