using System.Text;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Writes one SST file with RocksDB's SstFileWriter (bytewise comparator, CRC32c block
/// checksums). Keys must be added in strictly ascending order. Output goes to a temporary name
/// beside the target and is renamed over it only by <see cref="Commit"/>, so a caller writing
/// several files can publish all of them or none; disposing an uncommitted builder deletes the
/// temporary file.
/// </summary>
public sealed unsafe class SstFileBuilder : IDisposable
{
    private readonly string _path;
    private readonly string _temporaryPath;
    private IntPtr _options;
    private IntPtr _tableOptions;
    private IntPtr _envOptions;
    private IntPtr _writer;
    private bool _finished;
    private bool _committed;

    public SstFileBuilder(string path, SstOptions options)
    {
        _path = Path.GetFullPath(path);
        _temporaryPath = $"{_path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _options = RocksNative.OptionsCreate();
        RocksNative.OptionsSetCompression(_options, (int)options.Compression);
        _tableOptions = RocksNative.BlockBasedOptionsCreate();
        RocksNative.BlockBasedOptionsSetFormatVersion(_tableOptions, options.FormatVersion);
        RocksNative.BlockBasedOptionsSetChecksum(_tableOptions, RocksNative.ChecksumCrc32c);
        RocksNative.OptionsSetBlockBasedTableFactory(_options, _tableOptions);
        _envOptions = RocksNative.EnvOptionsCreate();
        _writer = RocksNative.SstFileWriterCreate(_envOptions, _options);
        var pathBytes = Encoding.UTF8.GetBytes(_temporaryPath + "\0");
        IntPtr error;
        fixed (byte* p = pathBytes)
        {
            RocksNative.SstFileWriterOpen(_writer, p, &error);
        }

        try
        {
            RocksNative.Check(error, $"cannot create {_path}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public long Entries { get; private set; }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_writer == IntPtr.Zero || _finished, this);
        IntPtr error;
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            RocksNative.SstFileWriterPut(_writer, k, (nuint)key.Length, v, (nuint)value.Length, &error);
        }

        if (error != IntPtr.Zero)
        {
            RocksNative.Check(error, $"{_path}: cannot add key #{Entries + 1}");
        }

        Entries++;
    }

    /// <summary>The file being written, until <see cref="Commit"/> moves it.</summary>
    public string TemporaryPath => _temporaryPath;

    /// <summary>Completes the file (still under its temporary name).</summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(_writer == IntPtr.Zero || _finished, this);
        IntPtr error;
        RocksNative.SstFileWriterFinish(_writer, &error);
        RocksNative.Check(error, $"cannot finish {_path}");
        _finished = true;
    }

    /// <summary>Moves the finished file to its final name.</summary>
    public void Commit()
    {
        if (!_finished)
        {
            throw new InvalidOperationException($"{_path}: commit before finish");
        }

        File.Move(_temporaryPath, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_writer != IntPtr.Zero)
        {
            RocksNative.SstFileWriterDestroy(_writer);
            _writer = IntPtr.Zero;
        }

        Release(ref _envOptions, RocksNative.EnvOptionsDestroy);
        Release(ref _tableOptions, RocksNative.BlockBasedOptionsDestroy);
        Release(ref _options, RocksNative.OptionsDestroy);
        if (!_committed)
        {
            File.Delete(_temporaryPath);
        }
    }

    private static void Release(ref IntPtr handle, delegate* unmanaged<IntPtr, void> destroy)
    {
        if (handle != IntPtr.Zero)
        {
            destroy(handle);
            handle = IntPtr.Zero;
        }
    }
}
