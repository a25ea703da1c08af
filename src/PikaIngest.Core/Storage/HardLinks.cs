using System.Runtime.InteropServices;

namespace PikaIngest.Core.Storage;

/// <summary>What <see cref="HardLinks.TryCreate"/> did.</summary>
public enum HardLinkOutcome
{
    Created,

    /// <summary>The new name exists already; nothing was changed.</summary>
    NameTaken,

    /// <summary>No link: Windows, a file system without hard links, another volume, or another error.</summary>
    Failed,
}

/// <summary>link(2): a second name for a file's bytes, created only if the name is free, in one step.</summary>
public static partial class HardLinks
{
    /// <summary>EEXIST, the same number on Linux and macOS.</summary>
    private const int NameTakenErrno = 17;

    public static HardLinkOutcome TryCreate(string existing, string newName)
    {
        if (OperatingSystem.IsWindows())
        {
            return HardLinkOutcome.Failed;
        }

        if (Link(existing, newName) == 0)
        {
            return HardLinkOutcome.Created;
        }

        return Marshal.GetLastPInvokeError() == NameTakenErrno ? HardLinkOutcome.NameTaken : HardLinkOutcome.Failed;
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string newName);
}
