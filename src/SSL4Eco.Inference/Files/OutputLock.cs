namespace SSL4Eco.Inference.Files;

/// <summary>
/// An exclusive lock on an output, held for the life of a run: a hidden lock file (<c>.NAME.ssl4eco-lock</c>) beside the
/// output, opened with <see cref="FileShare.None"/> (an OS lock, <c>flock</c> on Unix) that the OS releases when the process
/// ends, however it ends. A second run on the same output is refused at once, before it does any work. Disposing releases
/// the lock and removes the lock file.
/// </summary>
/// <remarks>Not thread-safe; one owner. Locks are advisory between SSL4Eco processes (other programs are not stopped).</remarks>
public sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;

    private OutputLock(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file of <paramref name="output"/> (a file or an output prefix).</summary>
    public static string PathFor(string output)
    {
        var full = System.IO.Path.GetFullPath(output);
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full) ?? ".", "." + System.IO.Path.GetFileName(full) + ".ssl4eco-lock");
    }

    /// <summary>Takes the lock of <paramref name="output"/> or throws at once.</summary>
    /// <exception cref="IOException">Another process holds the lock (the message names the output and what to do).</exception>
    public static OutputLock Acquire(string output) =>
        TryAcquire(output) ?? throw new IOException($"another run is writing '{output}' (it holds the lock '{PathFor(output)}'); wait for it to finish, or choose another output path.");

    /// <summary>Takes the lock of <paramref name="output"/>, waiting (polling every 200 ms) while another process holds it.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public static async Task<OutputLock> AcquireAsync(string output, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryAcquire(output) is { } taken) return taken;
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    private static OutputLock? TryAcquire(string output)
    {
        var path = PathFor(output);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException e) when (File.Exists(path) && e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                return null;
            }
            // The previous holder may have removed the file between our open and our lock: then lock the new file instead.
            if (File.Exists(path) || attempt >= 3)
            {
                stream.SetLength(0);
                stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"));
                stream.Flush();
                return new OutputLock(path, stream);
            }
            stream.Dispose();
        }
    }

    /// <summary>Removes the lock file and releases the lock.</summary>
    public void Dispose()
    {
        try { File.Delete(Path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _stream.Dispose();
    }
}
