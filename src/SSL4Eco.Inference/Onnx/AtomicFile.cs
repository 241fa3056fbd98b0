namespace SSL4Eco.Inference.Onnx;

/// <summary>Writes a file through a temporary sibling that is renamed over the target only on success.</summary>
/// <remarks>Stateless and thread-safe (distinct targets).</remarks>
internal static class AtomicFile
{
    /// <summary>Writes via <paramref name="write"/> to a temporary file in the target's folder, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write, CancellationToken ct)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(s);
                ct.ThrowIfCancellationRequested();
                s.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
