using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace PikaIngest.Core.Shards;

/// <summary>
/// A read-only memory mapping of a whole shard. Parsing straight from the page cache saves a
/// copy of the input and the kernel's zeroing of a buffer as large as the shard, which together
/// cost more than the parse itself. The file must not be truncated while mapped.
/// </summary>
internal sealed unsafe partial class MappedFile : IDisposable
{
    private const int AdviseDontNeed = 4;

    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private bool _released;

    private MappedFile(MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* pointer, long length)
    {
        _file = file;
        _view = view;
        Pointer = pointer;
        Length = length;
    }

    public byte* Pointer { get; }

    public long Length { get; }

    public static MappedFile Open(string path, string source)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ShardFormatException(source, 0, "no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ShardFormatException(source, 0, "permission denied");
        }

        if (stream.Length == 0)
        {
            stream.Dispose();
            return new MappedFile(null, null, null, 0);
        }

        var length = stream.Length;
        var file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        return new MappedFile(file, view, pointer + view.PointerOffset, length);
    }

    /// <summary>
    /// Drops the pages of an already parsed range from this process (they stay in the page cache),
    /// so reading a shard in chunks keeps resident memory at about one chunk, not the whole file.
    /// </summary>
    public void ReleaseRange(long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || Pointer is null)
        {
            return;
        }

        var pageSize = Environment.SystemPageSize;
        var start = (long)Pointer + offset;
        var alignedStart = (start + pageSize - 1) / pageSize * pageSize;
        var alignedEnd = (start + length) / pageSize * pageSize;
        if (alignedEnd > alignedStart)
        {
            _ = Advise((void*)alignedStart, (nuint)(alignedEnd - alignedStart), AdviseDontNeed);
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(void* address, nuint length, int advice);

    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _file?.Dispose();
    }
}
