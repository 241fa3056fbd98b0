namespace SSL4Eco.Inference.Files;

/// <summary>
/// Writes files so that a failure, a cancellation or a crash never leaves a half-written target: the content goes to a
/// hidden temporary sibling (<c>.NAME.GUID.tmpEXT</c>, same folder, so the rename is atomic on one file system), which is
/// renamed over the target only on success and deleted otherwise. Every output of the library is written this way.
/// </summary>
/// <remarks>Stateless and thread-safe for distinct targets.</remarks>
public static class AtomicFile
{
    /// <summary>Writes the target through a stream.</summary>
    /// <returns>The full path of the target.</returns>
    public static string Write(string path, Action<Stream> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        return WriteVia(path, tmp =>
        {
            using var s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            write(s);
            cancellationToken.ThrowIfCancellationRequested();
            s.Flush(flushToDisk: true);
        });
    }

    /// <summary>Writes the target as UTF-8 text.</summary>
    /// <returns>The full path of the target.</returns>
    public static string WriteText(string path, string text) => WriteVia(path, tmp => File.WriteAllText(tmp, text));

    /// <summary>Lets <paramref name="writeTemporary"/> create the file at the temporary path it is given (e.g. a GDAL driver), then renames it.</summary>
    /// <returns>The full path of the target.</returns>
    public static string WriteVia(string path, Action<string> writeTemporary)
    {
        ArgumentNullException.ThrowIfNull(writeTemporary);
        var (full, tmp) = Paths(path);
        try
        {
            writeTemporary(tmp);
            File.Move(tmp, full, overwrite: true);
            return full;
        }
        finally
        {
            Delete(tmp);
        }
    }

    /// <summary>Asynchronous form of <see cref="WriteVia"/>; a cancellation before the rename leaves the target untouched.</summary>
    /// <returns>The full path of the target.</returns>
    public static async Task<string> WriteViaAsync(string path, Func<string, Task> writeTemporary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writeTemporary);
        var (full, tmp) = Paths(path);
        try
        {
            await writeTemporary(tmp).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(tmp, full, overwrite: true);
            return full;
        }
        finally
        {
            Delete(tmp);
        }
    }

    private static (string Full, string Temporary) Paths(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        return (full, Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}"));
    }

    private static void Delete(string tmp)
    {
        try { if (File.Exists(tmp)) File.Delete(tmp); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
