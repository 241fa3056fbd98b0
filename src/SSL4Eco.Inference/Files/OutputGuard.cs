using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace SSL4Eco.Inference.Files;

/// <summary>
/// The one check every writing entry point makes before any work: no output (nor side output, nor output folder) may be one
/// of the inputs, and no two outputs may be the same file. Paths are compared after making them absolute and resolving
/// every symbolic link on the way (folders included); on Unix, hard links are caught by comparing device and inode. A
/// local <c>.vrt</c> input also protects the files it references. GDAL virtual paths (<c>/vsicurl/…</c>, <c>/vsimem/…</c>)
/// are not local files and are not compared.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static partial class OutputGuard
{
    /// <summary>Throws when an output is an input, an output folder holds an input, or two outputs are one file.</summary>
    /// <param name="inputs">Every file the command reads (null entries are ignored).</param>
    /// <param name="outputs">Every file the command may write, side outputs included (null entries are ignored).</param>
    /// <param name="outputFolders">Folders the command creates or deletes (e.g. a resume folder); no input may lie inside one.</param>
    /// <exception cref="ArgumentException">One line naming the output and the input it would destroy, and the fix.</exception>
    public static void Check(IEnumerable<string?> inputs, IEnumerable<string?> outputs, IEnumerable<string?>? outputFolders = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var ins = Expand(inputs.OfType<string>().Where(IsLocal)).Select(p => new Entry(p)).ToList();
        var outs = outputs.OfType<string>().Where(IsLocal).Select(p => new Entry(p)).ToList();
        foreach (var o in outs)
        {
            var hit = ins.FirstOrDefault(i => i.SameAs(o));
            if (hit is not null)
                throw new ArgumentException(string.Equals(Path.GetFullPath(hit.Given), Path.GetFullPath(o.Given), PathComparison)
                    ? $"output '{o.Given}' is the input '{hit.Given}'; choose another output path."
                    : $"output '{o.Given}' is the input '{hit.Given}' (the same file by another path or link); choose another output path.");
        }
        for (int a = 0; a < outs.Count; a++)
            for (int b = a + 1; b < outs.Count; b++)
                if (outs[a].SameAs(outs[b]))
                    throw new ArgumentException($"output '{outs[a].Given}' and output '{outs[b].Given}' are the same file; give them different paths.");
        foreach (var folder in (outputFolders ?? []).OfType<string>().Where(IsLocal).Select(f => new Entry(f)))
        {
            var inside = ins.FirstOrDefault(i => i.Resolved.StartsWith(folder.Resolved + Path.DirectorySeparatorChar, PathComparison) || i.SameAs(folder));
            if (inside is not null)
                throw new ArgumentException($"the input '{inside.Given}' lies in '{folder.Given}', which this command writes and removes; move the input or choose another output path.");
        }
    }

    /// <summary>Check for one input and one output.</summary>
    /// <exception cref="ArgumentException">The output is the input.</exception>
    public static void Check(string? input, string? output) => Check([input], [output]);

    private static StringComparison PathComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static bool IsLocal(string path) =>
        !string.IsNullOrWhiteSpace(path) && !path.StartsWith("/vsi", StringComparison.Ordinal) && !path.Contains("://", StringComparison.Ordinal);

    /// <summary>The inputs plus, for a local VRT, the files it references (one level deep and its own VRTs, at most 64 files read).</summary>
    private static List<string> Expand(IEnumerable<string> inputs)
    {
        var all = new List<string>();
        var queue = new Queue<string>(inputs);
        int vrts = 0;
        while (queue.Count > 0)
        {
            var p = queue.Dequeue();
            all.Add(p);
            if (!p.EndsWith(".vrt", StringComparison.OrdinalIgnoreCase) || vrts++ >= 64) continue;
            foreach (var source in VrtSources(p)) if (!all.Contains(source)) queue.Enqueue(source);
        }
        return all;
    }

    /// <summary>
    /// The local files a GDAL VRT references (its <c>SourceFilename</c> elements, relative ones resolved against the VRT's
    /// folder); empty for a file that is not a readable VRT. GDAL virtual paths are left out.
    /// </summary>
    public static IReadOnlyList<string> VrtSources(string vrt)
    {
        ArgumentException.ThrowIfNullOrEmpty(vrt);
        if (!vrt.EndsWith(".vrt", StringComparison.OrdinalIgnoreCase) || !File.Exists(vrt)) return [];
        XDocument doc;
        try { doc = XDocument.Load(vrt); }
        catch (Exception e) when (e is System.Xml.XmlException or IOException or UnauthorizedAccessException) { return []; }
        var dir = Path.GetDirectoryName(Path.GetFullPath(vrt)) ?? ".";
        return doc.Descendants("SourceFilename").Select(el => (Name: el.Value.Trim(), Relative: (string?)el.Attribute("relativeToVRT") == "1"))
            .Where(s => IsLocal(s.Name)).Select(s => s.Relative ? Path.Combine(dir, s.Name) : s.Name).Distinct().ToList();
    }

    /// <summary>A path as given, fully resolved, and (when it exists on Unix) its device and inode.</summary>
    private sealed class Entry
    {
        public Entry(string given)
        {
            Given = given;
            Resolved = Resolve(Path.GetFullPath(given), 0);
            Id = FileId(Resolved);
        }

        public string Given { get; }
        public string Resolved { get; }
        public (ulong Dev, ulong Ino)? Id { get; }

        public bool SameAs(Entry other) =>
            string.Equals(Resolved, other.Resolved, PathComparison) || Id is { } a && other.Id is { } b && a == b;
    }

    /// <summary>Resolves every symbolic link along an absolute path (a missing tail is kept as is).</summary>
    private static string Resolve(string full, int depth)
    {
        if (depth > 40) return full;
        var root = Path.GetPathRoot(full) ?? "";
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            try
            {
                FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
                if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                    next = Resolve(Path.GetFullPath(target.FullName), depth + 1);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            current = next;
        }
        return current;
    }

    private static (ulong, ulong)? FileId(string path)
    {
        if (!OperatingSystem.IsLinux() || !Path.Exists(path)) return null;
        try
        {
            // struct stat starts with st_dev and st_ino (64-bit each) on Linux x86-64 and arm64 (glibc ≥ 2.33 exports stat).
            Span<byte> buffer = stackalloc byte[512];
            unsafe
            {
                fixed (byte* b = buffer)
                    if (Stat(path, b) != 0) return null;
            }
            return (BitConverter.ToUInt64(buffer[..8]), BitConverter.ToUInt64(buffer[8..16]));
        }
        catch (EntryPointNotFoundException) { return null; }
        catch (DllNotFoundException) { return null; }
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);
}
