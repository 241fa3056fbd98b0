using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace SSL4Eco.Gdal;

/// <summary>
/// GDAL's virtual file systems (<c>/vsis3/</c>, <c>/vsigs/</c>, <c>/vsiaz/</c>, <c>/vsicurl/</c>, and plain local paths) through
/// the VSI C API: read, stream-write, stat, rename, delete and hash. Credentials come only from each cloud's standard
/// environment/config (GDAL reads <c>AWS_*</c>, <c>GS_*</c>/<c>GOOGLE_APPLICATION_CREDENTIALS</c>, <c>AZURE_STORAGE_*</c>);
/// nothing here logs them, and every error message passes through <see cref="Redact"/> first.
/// </summary>
/// <remarks>
/// Stateless and thread-safe (GDAL's VSI handles are used by one call at a time). <see cref="SetConfigOption"/> changes
/// the whole process; <see cref="SetThreadLocalConfigOption"/> only the calling thread.
/// </remarks>
public static partial class GdalVsi
{
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial IntPtr VSIFOpenL(string path, string mode);
    [LibraryImport(GdalNative.Lib)] private static partial int VSIFCloseL(IntPtr file);
    [LibraryImport(GdalNative.Lib)] private static unsafe partial nuint VSIFReadL(void* buffer, nuint size, nuint count, IntPtr file);
    [LibraryImport(GdalNative.Lib)] private static unsafe partial nuint VSIFWriteL(void* buffer, nuint size, nuint count, IntPtr file);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static unsafe partial int VSIStatExL(string path, void* statBuffer, int flags);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial int VSIRename(string from, string to);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial int VSIUnlink(string path);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial int VSIMkdirRecursive(string path, long mode);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial void CPLSetConfigOption(string key, string? value);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial void CPLSetThreadLocalConfigOption(string key, string? value);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial IntPtr CPLGetConfigOption(string key, string? defaultValue);
    [LibraryImport(GdalNative.Lib)] private static partial void VSICurlClearCache();

    private const int StatExistsFlag = 0x1;
    private const int ChunkBytes = 1 << 20;

    /// <summary>Whether <paramref name="path"/> is a GDAL virtual path (<c>/vsi…/</c>) rather than a local file.</summary>
    public static bool IsVirtual(string path) => path.StartsWith("/vsi", StringComparison.Ordinal);

    /// <summary>
    /// The GDAL path of an object URL: <c>s3://b/k</c> → <c>/vsis3/b/k</c>, <c>gs://</c> → <c>/vsigs/</c>, <c>az://</c> →
    /// <c>/vsiaz/</c>, <c>http(s)://</c> → <c>/vsicurl/…</c> (read only); other paths unchanged.
    /// </summary>
    public static string ToGdalPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var (scheme, prefix) in new[] { ("s3://", "/vsis3/"), ("gs://", "/vsigs/"), ("az://", "/vsiaz/") })
            if (path.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return prefix + path[scheme.Length..];
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return "/vsicurl/" + path;
        return path;
    }

    /// <summary>Joins a folder (local or virtual) and a relative name with '/'.</summary>
    public static string Combine(string folder, string name) =>
        IsVirtual(folder) ? folder.TrimEnd('/') + "/" + name : Path.Combine(folder, name);

    /// <summary>Sets a GDAL configuration option for this process (e.g. <c>AWS_S3_ENDPOINT</c>); null unsets it.</summary>
    public static void SetConfigOption(string key, string? value)
    {
        GdalLibrary.EnsureInitialized();
        CPLSetConfigOption(key, value);
    }

    /// <summary>
    /// Sets a GDAL configuration option for the calling thread only (e.g. <c>GDAL_DISABLE_READDIR_ON_OPEN</c> around one
    /// remote read); it takes precedence over the process-wide value on this thread, and null unsets it again.
    /// </summary>
    public static void SetThreadLocalConfigOption(string key, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        GdalLibrary.EnsureInitialized();
        CPLSetThreadLocalConfigOption(key, value);
    }

    /// <summary>The value GDAL sees for a configuration option on the calling thread (thread-local, process-wide, then environment), or null.</summary>
    internal static string? GetConfigOption(string key)
    {
        GdalLibrary.EnsureInitialized();
        return Marshal.PtrToStringUTF8(CPLGetConfigOption(key, null)); // GDAL owns the string
    }

    /// <summary>Forgets GDAL's cached <c>/vsicurl/</c> (and object-store) listings, object sizes and failed requests (after another process changed a bucket, or to retry a broken asset).</summary>
    public static void ClearCache()
    {
        GdalLibrary.EnsureInitialized();
        VSICurlClearCache();
    }

    /// <summary>Whether the file or object exists.</summary>
    public static unsafe bool Exists(string path)
    {
        GdalLibrary.EnsureInitialized();
        var buffer = stackalloc byte[512]; // larger than any platform's VSIStatBufL (struct stat)
        return VSIStatExL(path, buffer, StatExistsFlag) == 0;
    }

    /// <summary>Reads the whole file or object.</summary>
    /// <exception cref="IOException">It cannot be opened or read (message redacted).</exception>
    public static byte[] ReadAllBytes(string path)
    {
        using var ms = new MemoryStream();
        ReadChunks(path, chunk => ms.Write(chunk));
        return ms.ToArray();
    }

    /// <summary>SHA-256 (lower-case hex) of the file or object, streamed.</summary>
    public static string Sha256(string path)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadChunks(path, chunk => sha.AppendData(chunk));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static unsafe void ReadChunks(string path, Action<ReadOnlySpan<byte>> consume)
    {
        GdalLibrary.EnsureInitialized();
        GdalNative.CPLErrorReset();
        var f = VSIFOpenL(path, "rb");
        if (f == IntPtr.Zero) throw Failure($"cannot open '{path}' for reading");
        try
        {
            var buffer = new byte[ChunkBytes];
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    var n = (int)VSIFReadL(p, 1, (nuint)buffer.Length, f);
                    if (n > 0) consume(buffer.AsSpan(0, n));
                    if (n < buffer.Length) break;
                }
            }
        }
        finally { VSIFCloseL(f); }
    }

    /// <summary>
    /// Streams <paramref name="source"/> into a new file or object at <paramref name="path"/> (an object store uploads on close,
    /// multipart for large objects). On failure or cancellation the partial target is deleted and the exception rethrown.
    /// </summary>
    public static unsafe void Write(string path, Stream source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        GdalLibrary.EnsureInitialized();
        EnsureParent(path);
        GdalNative.CPLErrorReset();
        var f = VSIFOpenL(path, "wb");
        if (f == IntPtr.Zero) throw Failure($"cannot create '{path}'");
        bool ok = false;
        try
        {
            var buffer = new byte[ChunkBytes];
            int n;
            while ((n = source.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                fixed (byte* p = buffer)
                    if ((int)VSIFWriteL(p, 1, (nuint)n, f) != n) throw Failure($"writing '{path}' failed");
            }
            cancellationToken.ThrowIfCancellationRequested();
            ok = true;
        }
        finally
        {
            int closed = VSIFCloseL(f);
            if (!ok || closed != 0) VSIUnlink(path);
            if (ok && closed != 0) throw Failure($"finishing '{path}' failed");
        }
    }

    /// <summary>Renames (an object store: server-side copy, then delete) <paramref name="from"/> to <paramref name="to"/>, replacing it.</summary>
    public static void Rename(string from, string to)
    {
        GdalLibrary.EnsureInitialized();
        GdalNative.CPLErrorReset();
        if (VSIRename(from, to) != 0) throw Failure($"cannot rename '{from}' to '{to}'");
    }

    /// <summary>Deletes a file or object; false when it could not be deleted (e.g. it does not exist).</summary>
    public static bool Delete(string path)
    {
        GdalLibrary.EnsureInitialized();
        return VSIUnlink(path) == 0;
    }

    /// <summary>Creates the parent folder of a local or virtual path where the file system has folders (object stores ignore it).</summary>
    private static void EnsureParent(string path)
    {
        int slash = path.LastIndexOf('/');
        if (slash <= 0) return;
        var parent = path[..slash];
        if (!IsVirtual(path)) Directory.CreateDirectory(parent);
        else if (!path.StartsWith("/vsis3/", StringComparison.Ordinal) && !path.StartsWith("/vsigs/", StringComparison.Ordinal)
            && !path.StartsWith("/vsiaz/", StringComparison.Ordinal))
            VSIMkdirRecursive(parent, 0x1ED);
    }

    private static IOException Failure(string what)
    {
        var msg = Marshal.PtrToStringUTF8(GdalNative.CPLGetLastErrorMsg());
        return new IOException(Redact(string.IsNullOrWhiteSpace(msg) ? what + "." : $"{what}: {msg.Trim()}"));
    }

    /// <summary>Names of environment variables whose values are secrets of the clouds GDAL talks to.</summary>
    private static readonly string[] SecretVariables =
    [
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "GS_SECRET_ACCESS_KEY", "GS_ACCESS_KEY_ID", "GS_OAUTH2_REFRESH_TOKEN",
        "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_SAS",
    ];

    /// <summary>
    /// <paramref name="message"/> without secrets: the query string of every URL (signatures, SAS tokens) becomes
    /// <c>?[redacted]</c>, <c>Signature=</c>/<c>Credential=</c>/<c>sig=</c> values and <c>AccountKey=</c> go, and the values of
    /// the clouds' credential variables present in the environment are replaced wherever they appear.
    /// </summary>
    public static string Redact(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var m = UrlQuery().Replace(message, "$1?[redacted]");
        m = SecretPair().Replace(m, "$1=[redacted]");
        foreach (var name in SecretVariables)
            if (Environment.GetEnvironmentVariable(name) is { Length: >= 4 } value) m = m.Replace(value, "[redacted]", StringComparison.Ordinal);
        return m;
    }

    [GeneratedRegex(@"((?:https?://|/vsi[a-z0-9_]+/)[^\s?'""]*)\?[^\s'""]*", RegexOptions.IgnoreCase)]
    private static partial Regex UrlQuery();

    [GeneratedRegex(@"\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|Credential|sig|AccountKey|SharedAccessSignature|aws_secret_access_key)\s*=\s*[^\s&;,'""]+", RegexOptions.IgnoreCase)]
    private static partial Regex SecretPair();
}
