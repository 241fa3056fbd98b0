using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>
/// The map options every unit of a manifest shares (everything that changes a unit's embeddings or encoding besides the model's
/// <see cref="InputRecipe"/>, whose fingerprint the manifest records: scaling and harmonisation live there).
/// </summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record ScaleMapOptions
{
    /// <summary>Tile size in pixels; null = the model's input size.</summary>
    public int? TileSize { get; init; }
    /// <summary>Stride in pixels; null = tile size.</summary>
    public int? Stride { get; init; }
    /// <summary>Band names of the inputs in file order when they have no band descriptions.</summary>
    public IReadOnlyList<string>? InputBands { get; init; }
    /// <summary>Tiles with a smaller valid fraction are nodata.</summary>
    public double MinValidFraction { get; init; } = 0.5;
    /// <summary>Value type of the embedding rasters.</summary>
    public EmbeddingRasterType RasterType { get; init; } = EmbeddingRasterType.Float32;

    /// <summary>Canonical one-line text of the options (what <see cref="WorkManifest.OptionsSha256"/> hashes).</summary>
    public string ToCanonicalText() => FormattableString.Invariant(
        $"tile={TileSize?.ToString(CultureInfo.InvariantCulture) ?? "model"};stride={Stride?.ToString(CultureInfo.InvariantCulture) ?? "tile"};bands={(InputBands is null ? "file" : string.Join(',', InputBands))};min_valid={MinValidFraction.ToString("R", CultureInfo.InvariantCulture)};dtype={RasterType}");
}

/// <summary>
/// One work unit: an input raster (local path or GDAL virtual path), optionally a pixel window of it on the tile grid (a block
/// of a huge raster), and the key its outputs are stored under (<c>OUTPUT/units/KEY.tif</c>, <c>.parquet</c>, <c>.json</c>).
/// </summary>
/// <param name="Index">Position in the manifest (decides the shard: <c>Index mod n</c>, and the overlap rule: the first wins).</param>
/// <param name="Key">Output key (file-name safe, unique).</param>
/// <param name="Input">Input raster.</param>
/// <param name="Window">Pixel window of a block (starts on the stride grid), or null for the whole raster.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record WorkUnit(int Index, string Key, string Input, PixelWindow? Window);

/// <summary>
/// A plan of work units plus the options and fingerprints every shard must share, stored as JSON. The same inputs and
/// options always give the same bytes (no clock, no host name, invariant culture, '\n' line ends), so a manifest can be
/// re-planned and diffed. <see cref="RecipeSha256"/> is the model's <see cref="InputRecipe"/> fingerprint: a shard whose model
/// differs refuses to run, so one product never mixes two models.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record WorkManifest
{
    /// <summary>Format tag written first in the JSON.</summary>
    public const string Format = "ssl4eco-manifest/1";

    /// <summary>Where unit outputs go (local folder or <c>/vsis3/…</c>, <c>/vsigs/…</c>, <c>/vsiaz/…</c>).</summary>
    public required string OutputRoot { get; init; }
    /// <summary>The model as named at planning (informative; the recipe fingerprint is what is checked).</summary>
    public required string Model { get; init; }
    /// <summary>The model's input recipe fingerprint (<c>ssl4eco.recipe_sha256</c>).</summary>
    public required string RecipeSha256 { get; init; }
    /// <summary>Shared map options.</summary>
    public required ScaleMapOptions Options { get; init; }
    /// <summary>The units in order.</summary>
    public required IReadOnlyList<WorkUnit> Units { get; init; }

    /// <summary>SHA-256 of <see cref="ScaleMapOptions.ToCanonicalText"/>.</summary>
    public string OptionsSha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Options.ToCanonicalText())));

    /// <summary>The rule for places two units cover: the unit earlier in the manifest owns them (rasters and table rows).</summary>
    public const string OverlapRule = "first-in-manifest";

    /// <summary>Folder of the unit outputs under <see cref="OutputRoot"/>.</summary>
    public string UnitPath(WorkUnit unit, string extension)
    {
        ArgumentNullException.ThrowIfNull(unit);
        return GdalVsi.Combine(GdalVsi.Combine(OutputRoot, "units"), unit.Key + extension);
    }

    /// <summary>The manifest as JSON bytes (UTF-8, indented, '\n').</summary>
    public byte[] ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("output_root", OutputRoot);
            w.WriteString("model", Model);
            w.WriteString("recipe_sha256", RecipeSha256);
            w.WriteString("options_sha256", OptionsSha256);
            w.WriteString("overlap_rule", OverlapRule);
            w.WriteString("shard_rule", "unit k belongs to shard k mod n");
            w.WriteStartObject("options");
            if (Options.TileSize is int t) w.WriteNumber("tile", t); else w.WriteNull("tile");
            if (Options.Stride is int s) w.WriteNumber("stride", s); else w.WriteNull("stride");
            if (Options.InputBands is { } b) { w.WriteStartArray("bands"); foreach (var x in b) w.WriteStringValue(x); w.WriteEndArray(); }
            else w.WriteNull("bands");
            w.WriteNumber("min_valid", Options.MinValidFraction);
            w.WriteString("dtype", Options.RasterType.ToString());
            w.WriteEndObject();
            w.WriteStartArray("units");
            foreach (var u in Units)
            {
                w.WriteStartObject();
                w.WriteNumber("index", u.Index);
                w.WriteString("key", u.Key);
                w.WriteString("input", u.Input);
                if (u.Window is { } win) { w.WriteStartArray("window"); foreach (var v in new[] { win.X, win.Y, win.Width, win.Height }) w.WriteNumberValue(v); w.WriteEndArray(); }
                else w.WriteNull("window");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Reads a manifest (local file or GDAL virtual path); throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public static WorkManifest Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var gdalPath = GdalVsi.ToGdalPath(path);
        byte[] bytes = GdalVsi.IsVirtual(gdalPath) ? GdalVsi.ReadAllBytes(gdalPath)
            : File.Exists(path) ? File.ReadAllBytes(path) : throw new FileNotFoundException($"the manifest '{path}' does not exist; make one with 'ssl4eco plan'.");
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var r = doc.RootElement;
            if (!r.TryGetProperty("format", out var f) || f.GetString() != Format)
                throw new InvalidDataException($"'{path}' is not an ssl4eco manifest (format '{Format}'); make one with 'ssl4eco plan'.");
            var o = r.GetProperty("options");
            var options = new ScaleMapOptions
            {
                TileSize = o.GetProperty("tile").ValueKind == JsonValueKind.Null ? null : o.GetProperty("tile").GetInt32(),
                Stride = o.GetProperty("stride").ValueKind == JsonValueKind.Null ? null : o.GetProperty("stride").GetInt32(),
                InputBands = o.GetProperty("bands").ValueKind == JsonValueKind.Null ? null : o.GetProperty("bands").EnumerateArray().Select(e => e.GetString()!).ToArray(),
                MinValidFraction = o.GetProperty("min_valid").GetDouble(),
                RasterType = Enum.Parse<EmbeddingRasterType>(o.GetProperty("dtype").GetString()!),
            };
            var units = r.GetProperty("units").EnumerateArray().Select(u =>
            {
                PixelWindow? win = null;
                if (u.GetProperty("window") is { ValueKind: JsonValueKind.Array } a)
                {
                    var v = a.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                    win = new PixelWindow(v[0], v[1], v[2], v[3]);
                }
                return new WorkUnit(u.GetProperty("index").GetInt32(), u.GetProperty("key").GetString()!, u.GetProperty("input").GetString()!, win);
            }).ToList();
            for (int i = 0; i < units.Count; i++)
                if (units[i].Index != i) throw new InvalidDataException($"'{path}': unit {i} has index {units[i].Index}; re-plan it with 'ssl4eco plan'.");
            var m = new WorkManifest
            {
                OutputRoot = r.GetProperty("output_root").GetString()!,
                Model = r.GetProperty("model").GetString()!,
                RecipeSha256 = r.GetProperty("recipe_sha256").GetString()!,
                Options = options,
                Units = units,
            };
            if (r.GetProperty("options_sha256").GetString() != m.OptionsSha256)
                throw new InvalidDataException($"'{path}': its options do not match its options_sha256 (edited by hand?); re-plan it with 'ssl4eco plan'.");
            return m;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"'{path}' is not a valid ssl4eco manifest ({e.Message.Split('\n')[0]}); make one with 'ssl4eco plan'.", e);
        }
    }
}
