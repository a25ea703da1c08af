using System.Reflection;
using System.Runtime.InteropServices;

namespace PikaIngest.Core.Sst;

/// <summary>
/// The handful of RocksDB C API functions the SST writer needs, bound once through
/// <see cref="NativeLibrary"/>. RocksDbSharp's <c>Native.Instance</c> binds ~1,800 functions on
/// first use (a quarter second or more per process, which every Lambda cold start would pay),
/// and its <c>SstFileWriter.Put</c> takes only arrays; these take pointers.
/// </summary>
internal static unsafe class RocksNative
{
    private static readonly IntPtr Library = Load();

    public static readonly delegate* unmanaged<IntPtr> OptionsCreate = (delegate* unmanaged<IntPtr>)Bind("rocksdb_options_create");
    public static readonly delegate* unmanaged<IntPtr, void> OptionsDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_options_destroy");
    public static readonly delegate* unmanaged<IntPtr, int, void> OptionsSetCompression = (delegate* unmanaged<IntPtr, int, void>)Bind("rocksdb_options_set_compression");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, void> OptionsSetBlockBasedTableFactory = (delegate* unmanaged<IntPtr, IntPtr, void>)Bind("rocksdb_options_set_block_based_table_factory");
    public static readonly delegate* unmanaged<IntPtr> BlockBasedOptionsCreate = (delegate* unmanaged<IntPtr>)Bind("rocksdb_block_based_options_create");
    public static readonly delegate* unmanaged<IntPtr, void> BlockBasedOptionsDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_block_based_options_destroy");
    public static readonly delegate* unmanaged<IntPtr, int, void> BlockBasedOptionsSetFormatVersion = (delegate* unmanaged<IntPtr, int, void>)Bind("rocksdb_block_based_options_set_format_version");
    public static readonly delegate* unmanaged<IntPtr, byte, void> BlockBasedOptionsSetChecksum = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_block_based_options_set_checksum");
    public static readonly delegate* unmanaged<IntPtr> EnvOptionsCreate = (delegate* unmanaged<IntPtr>)Bind("rocksdb_envoptions_create");
    public static readonly delegate* unmanaged<IntPtr, void> EnvOptionsDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_envoptions_destroy");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr> SstFileWriterCreate = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)Bind("rocksdb_sstfilewriter_create");
    public static readonly delegate* unmanaged<IntPtr, byte*, IntPtr*, void> SstFileWriterOpen = (delegate* unmanaged<IntPtr, byte*, IntPtr*, void>)Bind("rocksdb_sstfilewriter_open");
    public static readonly delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, IntPtr*, void> SstFileWriterPut = (delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, IntPtr*, void>)Bind("rocksdb_sstfilewriter_put");
    public static readonly delegate* unmanaged<IntPtr, IntPtr*, void> SstFileWriterFinish = (delegate* unmanaged<IntPtr, IntPtr*, void>)Bind("rocksdb_sstfilewriter_finish");
    public static readonly delegate* unmanaged<IntPtr, void> SstFileWriterDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_sstfilewriter_destroy");
    public static readonly delegate* unmanaged<IntPtr, void> Free = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_free");

    /// <summary>RocksDB's kCRC32c: verifiable by every RocksDB release (the newer default, XXH3, needs 6.27+).</summary>
    public const byte ChecksumCrc32c = 1;

    /// <summary>Throws with RocksDB's message when a call reported an error, and frees the message.</summary>
    public static void Check(IntPtr error, string what)
    {
        if (error == IntPtr.Zero)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8(error);
        Free(error);
        throw new IOException($"{what}: {message}");
    }

    private static IntPtr Bind(string name) => NativeLibrary.GetExport(Library, name);

    private static IntPtr Load()
    {
        // The RocksDB package ships the library as a runtime asset next to RocksDbSharp.
        var assembly = typeof(RocksDbSharp.RocksDb).Assembly;
        foreach (var name in new[] { "rocksdb", "librocksdb", "librocksdb.so" })
        {
            if (NativeLibrary.TryLoad(name, assembly, DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories, out var handle))
            {
                return handle;
            }
        }

        var rid = RuntimeInformation.RuntimeIdentifier;
        var candidate = Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", "librocksdb.so");
        return File.Exists(candidate)
            ? NativeLibrary.Load(candidate)
            : throw new DllNotFoundException($"librocksdb not found for {rid} (from the RocksDB package, next to {Path.GetFileName(assembly.Location)})");
    }
}
