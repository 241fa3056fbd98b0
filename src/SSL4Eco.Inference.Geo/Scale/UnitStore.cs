using System.Text.Json;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>
/// Commits finished local files to their final place, local or in object storage, so a reader never sees a partial one:
/// a local target is written through <see cref="AtomicFile"/> (temporary sibling, rename); an object is uploaded under a
/// temporary key (<c>KEY.partial-PID-GUID</c>), then renamed (server-side copy + delete) onto its final key, and the temporary
/// key is deleted if anything fails. Retrying a commit replaces the object with the same bytes. Each unit's files are recorded,
/// last, in a record <c>KEY.json</c> with their SHA-256: a unit is done exactly when its record exists and every hash verifies.
/// </summary>
/// <remarks>Stateless; thread-safe for distinct targets.</remarks>
internal static partial class UnitStore
{
    /// <summary>Copies <paramref name="localFile"/> to <paramref name="target"/> atomically (see the type remarks).</summary>
    public static void Commit(string localFile, string target, CancellationToken cancellationToken)
    {
        if (!GdalVsi.IsVirtual(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
            AtomicFile.WriteVia(target, tmp => File.Copy(localFile, tmp));
            return;
        }
        using var source = File.OpenRead(localFile);
        CommitObject(source, target, cancellationToken);
    }

    /// <summary>Uploads <paramref name="source"/> under a temporary key, then renames it onto <paramref name="target"/> (an object URL).</summary>
    internal static void CommitObject(Stream source, string target, CancellationToken cancellationToken)
    {
        var temporary = TemporaryKey(target);
        try
        {
            GdalVsi.Write(temporary, source, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            GdalVsi.Rename(temporary, target);
        }
        catch
        {
            GdalVsi.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// A fresh temporary key for <paramref name="target"/>: <c>.NAME.partial-PID-GUID</c> in its folder, or, when the folder path
    /// has a hive segment (<c>k=v</c>), in the folder above the first such segment, and with no '=' in the key: the key is the
    /// copy source of the final rename, which some S3-compatible servers (s3rver) do not URL-decode.
    /// </summary>
    internal static string TemporaryKey(string target)
    {
        var segments = target.Split('/');
        int cut = Array.FindIndex(segments, s => s.Contains('=', StringComparison.Ordinal));
        if (cut < 0) cut = segments.Length - 1;
        var name = string.Join('_', segments[cut..]).Replace('=', '_');
        return string.Join('/', segments[..cut]) + $"/.{name}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
    }

    /// <summary>The record path of a unit.</summary>
    public static string RecordPath(WorkManifest manifest, WorkUnit unit) => manifest.UnitPath(unit, ".json");

    /// <summary>The output files of a unit (the record excluded).</summary>
    public static string[] OutputPaths(WorkManifest manifest, WorkUnit unit) => [manifest.UnitPath(unit, ".tif"), manifest.UnitPath(unit, ".parquet")];

    /// <summary>
    /// Whether the unit is done: its record exists, names this manifest's options and recipe fingerprints, and every file it
    /// lists exists with the recorded SHA-256. Null when done; else why not (for the log).
    /// </summary>
    public static string? WhyNotDone(WorkManifest manifest, WorkUnit unit)
    {
        var record = RecordPath(manifest, unit);
        if (!GdalVsi.Exists(record)) return "no record yet";
        try
        {
            using var doc = JsonDocument.Parse(GdalVsi.ReadAllBytes(record));
            var r = doc.RootElement;
            if (r.GetProperty("options_sha256").GetString() != manifest.OptionsSha256) return "made with other map options";
            if (r.GetProperty("recipe_sha256").GetString() != manifest.RecipeSha256) return "made with another model recipe";
            var files = r.GetProperty("files");
            foreach (var path in OutputPaths(manifest, unit))
            {
                var name = FileName(path);
                if (!files.TryGetProperty(name, out var f)) return $"{name} is not recorded";
                if (!GdalVsi.Exists(path)) return $"{name} is missing";
                if (GdalVsi.Sha256(path) != f.GetProperty("sha256").GetString()) return $"{name} does not match its recorded SHA-256";
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            return "its record is unreadable";
        }
    }

    /// <summary>Writes the unit's record (after its files are committed).</summary>
    public static void WriteRecord(WorkManifest manifest, WorkUnit unit, string workFolder, IReadOnlyDictionary<string, string> sha256, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("key", unit.Key);
            w.WriteString("input", unit.Input);
            w.WriteString("options_sha256", manifest.OptionsSha256);
            w.WriteString("recipe_sha256", manifest.RecipeSha256);
            w.WriteStartObject("files");
            foreach (var (name, hash) in sha256.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(name);
                w.WriteString("sha256", hash);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        var local = Path.Combine(workFolder, unit.Key + ".record.json");
        File.WriteAllBytes(local, ms.ToArray());
        try { Commit(local, RecordPath(manifest, unit), ct); }
        finally { File.Delete(local); }
    }

    /// <summary>The last path segment of a local or virtual path.</summary>
    public static string FileName(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];

    /// <summary>
    /// Writes a VRT of <paramref name="window"/> of <paramref name="source"/> (GDAL's translate, <c>-srcwin</c>: band
    /// descriptions, nodata, masks and metadata kept, geotransform shifted to the window).
    /// </summary>
    public static void WriteWindowVrt(string source, PixelWindow window, string vrt)
    {
        using var src = GdalDataset.Open(source);
        window.EnsureInside(src.Width, src.Height);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string[] args = ["-of", "VRT", "-srcwin", window.X.ToString(inv), window.Y.ToString(inv), window.Width.ToString(inv), window.Height.ToString(inv)];
        AtomicFile.WriteVia(vrt, tmp => GdalDataset.Translate(src, tmp, args));
    }
}
