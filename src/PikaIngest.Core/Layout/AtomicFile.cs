namespace PikaIngest.Core.Layout;

/// <summary>Writes a file under a temporary name and renames it, so readers never see half of it.</summary>
public static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(content);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Removes a file if it is there; a missing file or folder is not an error.</summary>
    public static void DeleteIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>An entity tag for a local file: changes whenever its size or modification time does.</summary>
    public static string LocalETag(FileInfo file) =>
        $"\"{file.Length:x}-{file.LastWriteTimeUtc.Ticks:x}\"";
}
