using System.Globalization;
using System.Text;
using FlashWal.Storage;

namespace FlashWal.Recovery;

/// <summary>
/// One repair's quarantine folder, <c>&lt;dir&gt;/quarantine/&lt;UTC time&gt;/</c>: files moved out of the
/// log (renamed, never copied or deleted) and a README.txt that says, before each move, what is moved,
/// from where, why, and which of the log's event ids it concerns. The WAL directory lists only its own
/// files, so nothing in a sub-folder is ever taken for a segment.
/// </summary>
internal sealed class Quarantine
{
    /// <summary>The manifest's name.</summary>
    public const string ReadmeName = "README.txt";

    private readonly string _directory;

    private Quarantine(string directory, string folder)
    {
        _directory = directory;
        Folder = folder;
    }

    /// <summary>The folder, full path.</summary>
    public string Folder { get; }

    private string Readme => Path.Combine(Folder, ReadmeName);

    /// <summary>Creates a new folder for this repair (durably) with the README's heading.</summary>
    public static Quarantine Create(string directory)
    {
        string root = Path.Combine(directory, WalRepair.QuarantineFolderName);
        Disk.Real.CreateDirectory(root); // synced into the WAL directory when it is new

        DateTime now = DateTime.UtcNow;
        string stamp = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string folder = Path.Combine(root, stamp);
        for (int n = 2; Directory.Exists(folder); n++)
        {
            folder = Path.Combine(root, string.Create(CultureInfo.InvariantCulture, $"{stamp}-{n}"));
        }

        Disk.Real.CreateDirectory(folder);
        var quarantine = new Quarantine(directory, folder);
        quarantine.Append(string.Create(CultureInfo.InvariantCulture, $"""
            FlashWal quarantine
            ===================
            Made {now:O} by a repair of {directory}
            (process {Environment.ProcessId} on {Environment.MachineName}).

            The files below were moved here out of the WAL directory; nothing was deleted. Recorders,
            verification and recovery read only the WAL directory's own files, so nothing here is
            replayed or taken for a segment of the log. Each entry is written before its file is moved:
            a file listed here but absent from this folder was not moved (the repair stopped first) and
            is still in the WAL directory.


            """));
        return quarantine;
    }

    /// <summary>Writes the README entry for <paramref name="action"/>, moves its file here, flushes both directories; returns the new path.</summary>
    public string Move(RepairAction action)
    {
        string name = Path.GetFileName(action.Target);
        string destination = Path.Combine(Folder, name);
        string events = action.Lost?.ToString() ?? "no event of this log is lost with it";
        Append(string.Create(CultureInfo.InvariantCulture, $"""
            {name}
              from:   {action.Target}
              why:    {action.Reason}
              events: {events}
              action: {action.Description}


            """));
        // The new name first: a power cut between the two syncs leaves the file in both places (two
        // links to one file), never in neither.
        Disk.Real.Rename(action.Target, destination, replace: false);
        Disk.Real.SyncDirectory(Folder);
        Disk.Real.SyncDirectory(_directory);
        return destination;
    }

    private void Append(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\n"));
        bool created = !File.Exists(Readme);
        using (var stream = new FileStream(Readme, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            stream.Write(bytes);
            stream.Flush();
            Disk.Real.Sync(stream, Readme);
        }

        if (created)
        {
            Disk.Real.SyncDirectory(Folder);
        }
    }
}
