namespace SSL4Eco.Inference.Files;

/// <summary>
/// Writes files so that a failure, a cancellation or a crash never leaves a half-written target: the content goes to a
/// hidden temporary sibling (<c>.NAME.PID-GUID.tmpEXT</c>, same folder, so the rename is atomic on one file system), which is
/// renamed over the target only on success and deleted otherwise. Every output of the library is written this way.
/// A process killed mid-write (SIGKILL, power loss) cannot delete its temporary; the next write of the same target removes
/// such stale temporaries: ours by name only, and only when the process id in the name is no longer running (or, for names
/// without a process id, when older than an hour).
/// </summary>
/// <remarks>Stateless and thread-safe for distinct targets.</remarks>
internal static class AtomicFile
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
        catch (Exception e) when (DiskFull(e, full) is { } explained) { throw explained; }
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
        catch (Exception e) when (DiskFull(e, full) is { } explained) { throw explained; }
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
        RemoveStaleTemporaries(full);
        return (full, TemporaryPathFor(full));
    }

    /// <summary>
    /// A fresh temporary path of the library's own naming beside <paramref name="path"/> (<c>.NAME.PID-GUID.tmpEXT</c>), for
    /// callers that stage a file themselves: if the process dies before removing it, the next write of
    /// <paramref name="path"/> removes it.
    /// </summary>
    public static string TemporaryPathFor(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        return Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
    }

    /// <summary>
    /// A clear error when a write failed because the disk is full: the OS says so (ENOSPC, "No space left on device"), or a
    /// writer such as GDAL/libtiff reports a bare I/O or write error while the folder's file system has less than 64 MiB left.
    /// Null when the failure has another cause.
    /// </summary>
    internal static IOException? DiskFull(Exception e, string target)
    {
        var folder = Path.GetDirectoryName(target) ?? ".";
        bool osSaysFull = e is IOException && (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("disk full", StringComparison.OrdinalIgnoreCase);
        long? free = null;
        try { free = new DriveInfo(folder).AvailableFreeSpace; }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException or ArgumentException) { }
        bool writerIoError = e is not OperationCanceledException
            && (e.Message.Contains("IO error", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("write error", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("Write failed", StringComparison.OrdinalIgnoreCase) || e is IOException)
            && free is < 64L << 20;
        if (!osSaysFull && !writerIoError) return null;
        return new IOException(FormattableString.Invariant(
            $"the disk holding '{folder}' is full ({(free ?? 0) / 1024} KiB free) while writing '{Path.GetFileName(target)}'; free some space or write to another folder."), e);
    }

    /// <summary>How old a temporary without a process id in its name must be before it counts as stale.</summary>
    private static readonly TimeSpan StaleAge = TimeSpan.FromHours(1);

    /// <summary>
    /// Deletes the temporaries of <paramref name="fullPath"/> left by processes that died: names <c>.NAME.PID-GUID.tmpEXT</c>
    /// whose PID no longer runs, and older names <c>.NAME.GUID.tmpEXT</c> last written over an hour ago. Other files are never touched.
    /// </summary>
    /// <returns>The temporaries deleted.</returns>
    internal static IReadOnlyList<string> RemoveStaleTemporaries(string fullPath)
    {
        var dir = Path.GetDirectoryName(fullPath);
        if (dir is null || !Directory.Exists(dir)) return [];
        string head = "." + Path.GetFileNameWithoutExtension(fullPath) + ".", tail = ".tmp" + Path.GetExtension(fullPath);
        var removed = new List<string>();
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, ".*"))
            {
                var name = Path.GetFileName(file);
                // A writer may stage beside its temporary (CogMapWriter: TEMP.stage.tif); that staging file belongs to it.
                if (name.EndsWith(".stage.tif", StringComparison.Ordinal)) name = name[..^".stage.tif".Length];
                if (name.Length <= head.Length + tail.Length || !name.StartsWith(head, StringComparison.Ordinal) || !name.EndsWith(tail, StringComparison.Ordinal)) continue;
                var middle = name[head.Length..^tail.Length];
                bool stale;
                if (middle.Length > 33 && middle[^33] == '-' && IsHex(middle[^32..]) && int.TryParse(middle[..^33], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
                    stale = !IsRunning(pid) || DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromDays(1);
                else if (middle.Length == 32 && IsHex(middle))
                    stale = DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > StaleAge;
                else continue;
                if (stale) { Delete(file); if (!File.Exists(file)) removed.Add(file); }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return removed;
    }

    private static bool IsHex(string s) => s.All(char.IsAsciiHexDigitLower);

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void Delete(string tmp)
    {
        try { if (File.Exists(tmp)) File.Delete(tmp); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
