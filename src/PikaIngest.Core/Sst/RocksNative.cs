using System.Reflection;
using System.Runtime.InteropServices;

namespace PikaIngest.Core.Sst;

/// <summary>
/// The handful of RocksDB C API functions the SST writer and verifier need, bound once through
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

    // Reading a staged SST back (SstFileVerifier): a throwaway database, one ingest, one iterator.
    public static readonly delegate* unmanaged<IntPtr, byte, void> OptionsSetCreateIfMissing = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_options_set_create_if_missing");
    public static readonly delegate* unmanaged<IntPtr, byte*, IntPtr*, IntPtr> Open = (delegate* unmanaged<IntPtr, byte*, IntPtr*, IntPtr>)Bind("rocksdb_open");
    public static readonly delegate* unmanaged<IntPtr, void> Close = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_close");
    public static readonly delegate* unmanaged<IntPtr> IngestOptionsCreate = (delegate* unmanaged<IntPtr>)Bind("rocksdb_ingestexternalfileoptions_create");
    public static readonly delegate* unmanaged<IntPtr, void> IngestOptionsDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_ingestexternalfileoptions_destroy");
    public static readonly delegate* unmanaged<IntPtr, byte, void> IngestOptionsSetMoveFiles = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_ingestexternalfileoptions_set_move_files");
    public static readonly delegate* unmanaged<IntPtr, byte, void> IngestOptionsSetAllowGlobalSeqno = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_ingestexternalfileoptions_set_allow_global_seqno");
    public static readonly delegate* unmanaged<IntPtr, byte**, nuint, IntPtr, IntPtr*, void> IngestExternalFile = (delegate* unmanaged<IntPtr, byte**, nuint, IntPtr, IntPtr*, void>)Bind("rocksdb_ingest_external_file");
    public static readonly delegate* unmanaged<IntPtr> ReadOptionsCreate = (delegate* unmanaged<IntPtr>)Bind("rocksdb_readoptions_create");
    public static readonly delegate* unmanaged<IntPtr, void> ReadOptionsDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_readoptions_destroy");
    public static readonly delegate* unmanaged<IntPtr, byte, void> ReadOptionsSetVerifyChecksums = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_readoptions_set_verify_checksums");
    public static readonly delegate* unmanaged<IntPtr, byte, void> ReadOptionsSetFillCache = (delegate* unmanaged<IntPtr, byte, void>)Bind("rocksdb_readoptions_set_fill_cache");
    public static readonly delegate* unmanaged<IntPtr, nuint, void> ReadOptionsSetReadaheadSize = (delegate* unmanaged<IntPtr, nuint, void>)Bind("rocksdb_readoptions_set_readahead_size");
    public static readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr> CreateIterator = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)Bind("rocksdb_create_iterator");
    public static readonly delegate* unmanaged<IntPtr, void> IteratorDestroy = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_iter_destroy");
    public static readonly delegate* unmanaged<IntPtr, void> IteratorSeekToFirst = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_iter_seek_to_first");
    public static readonly delegate* unmanaged<IntPtr, void> IteratorNext = (delegate* unmanaged<IntPtr, void>)Bind("rocksdb_iter_next");
    // Valid, key and value only read the iterator's current entry: no I/O, no lock, no callback into .NET, so the
    // GC transition (tens of nanoseconds, paid for each of millions of records) can be skipped.
    public static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, byte> IteratorValid = (delegate* unmanaged[SuppressGCTransition]<IntPtr, byte>)Bind("rocksdb_iter_valid");
    public static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, byte*> IteratorKey = (delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, byte*>)Bind("rocksdb_iter_key");
    public static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, byte*> IteratorValue = (delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, byte*>)Bind("rocksdb_iter_value");
    public static readonly delegate* unmanaged<IntPtr, IntPtr*, void> IteratorGetError = (delegate* unmanaged<IntPtr, IntPtr*, void>)Bind("rocksdb_iter_get_error");

    /// <summary>RocksDB's kCRC32c: verifiable by every RocksDB release (the newer default, XXH3, needs 6.27+).</summary>
    public const byte ChecksumCrc32c = 1;

    /// <summary>Throws with RocksDB's message when a call reported an error, and frees the message.</summary>
    public static void Check(IntPtr error, string what)
    {
        if (error == IntPtr.Zero)
        {
            return;
        }

        throw new IOException($"{what}: {TakeError(error)}");
    }

    /// <summary>RocksDB's message for a call that reported an error (null when none), freed.</summary>
    public static string? TakeError(IntPtr error)
    {
        if (error == IntPtr.Zero)
        {
            return null;
        }

        var message = Marshal.PtrToStringUTF8(error);
        Free(error);
        return message;
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
