using System.Text.Json;
using System.Text.Json.Serialization;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Registry;

/// <summary>One published set of weights: where to get it, how to verify it, and the input contract it was trained with.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record WeightsEntry
{
    /// <summary>Registry id, e.g. <c>seco-eco</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Human-readable title.</summary>
    public string Title { get; init; } = "";

    /// <summary>Download URL of the checkpoint.</summary>
    public required Uri Url { get; init; }

    /// <summary>File name in the cache (and on a mirror).</summary>
    public required string FileName { get; init; }

    /// <summary>Full lower-case hex SHA-256 of the checkpoint, when known.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Leading hex digits of the SHA-256 (torch.hub convention: 8 digits in the file name), when the full hash is unknown.</summary>
    public string? Sha256Prefix { get; init; }

    /// <summary>Checkpoint layout name: <c>lightning_seco</c>, <c>moco_encoder_q</c> or <c>plain_state_dict</c>.</summary>
    public string CheckpointLayout { get; init; } = "plain_state_dict";

    /// <summary>The input contract (bands, scaling, spatial policy, sizes) of these weights.</summary>
    public required ModelContract Contract { get; init; }

    /// <summary>Licence statement ("see source" where not verified).</summary>
    public string License { get; init; } = "see source";

    /// <summary>Where the weights come from.</summary>
    public string Source { get; init; } = "";

    /// <summary>Caveats about the entry.</summary>
    public string Notes { get; init; } = "";

    /// <summary>The paper to cite.</summary>
    public string Citation { get; init; } = "";
}

/// <summary>
/// The weights registry: entries declared as data (<c>models/registry.json</c>, embedded in the assembly), in the spirit
/// of TorchGeo's weight enums. Nothing else in the library hard-codes bands, scaling or URLs.
/// </summary>
/// <remarks>Immutable after loading; thread-safe.</remarks>
public sealed class WeightsRegistry
{
    private static readonly Lazy<WeightsRegistry> LazyDefault = new(LoadEmbedded);
    private readonly Dictionary<string, WeightsEntry> _byId;

    private WeightsRegistry(IReadOnlyList<WeightsEntry> entries)
    {
        Entries = entries;
        _byId = new Dictionary<string, WeightsEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in entries)
            if (!_byId.TryAdd(e.Id, e)) throw new WeightsRegistryException($"Weights registry lists id '{e.Id}' twice.");
    }

    /// <summary>The registry shipped with the library.</summary>
    public static WeightsRegistry Default => LazyDefault.Value;

    /// <summary>The id of the paper model, SeCo-Eco (the official release), whose contract is the default of training and export.</summary>
    public const string SeCoEcoId = "seco-eco";

    /// <summary>The contract of <see cref="SeCoEcoId"/> in the shipped registry: the paper model's bands, scaling, spatial policy and sizes.</summary>
    public static ModelContract SeCoEcoContract => Default[SeCoEcoId].Contract;

    /// <summary>All entries in file order.</summary>
    public IReadOnlyList<WeightsEntry> Entries { get; }

    /// <summary>The entry with this id (case-insensitive); throws <see cref="KeyNotFoundException"/> listing the known ids.</summary>
    public WeightsEntry this[string id] => TryGet(id, out var e) ? e
        : throw new KeyNotFoundException($"No weights with id '{id}'. Known ids: {string.Join(", ", _byId.Keys)}.");

    /// <summary>Looks up an entry by id (case-insensitive).</summary>
    public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WeightsEntry? entry) => _byId.TryGetValue(id, out entry);

    /// <summary>Reads a registry file.</summary>
    /// <exception cref="WeightsRegistryException">The file is not valid registry JSON; the message names the entry and field.</exception>
    public static WeightsRegistry Load(string path)
    {
        using var s = File.OpenRead(path);
        return Parse(s, path);
    }

    /// <summary>Parses registry JSON from a stream; <paramref name="origin"/> names it in error messages.</summary>
    /// <exception cref="WeightsRegistryException">The JSON is invalid; the message names the entry and field.</exception>
    public static WeightsRegistry Parse(Stream json, string origin = "registry")
    {
        RegistryFile file;
        try
        {
            file = JsonSerializer.Deserialize(json, RegistryJsonContext.Default.RegistryFile)
                ?? throw new WeightsRegistryException($"{origin} is empty.");
        }
        catch (JsonException e)
        {
            throw new WeightsRegistryException($"{origin} is not valid registry JSON: {e.Message}", e);
        }
        if (file.Models is null) throw new WeightsRegistryException($"{origin} has no 'models' array.");
        var entries = new List<WeightsEntry>();
        for (int i = 0; i < file.Models.Count; i++)
        {
            var m = file.Models[i];
            string where = $"{origin}, models[{i}]" + (m.Id is null ? "" : $" ('{m.Id}')");
            string Req(string? v, string field) => string.IsNullOrWhiteSpace(v) ? throw new WeightsRegistryException($"{where}: '{field}' is missing.") : v;
            var id = Req(m.Id, "id");
            if (!Uri.TryCreate(Req(m.Url, "url"), UriKind.Absolute, out var url)) throw new WeightsRegistryException($"{where}: 'url' is not an absolute URL.");
            var fileName = m.FileName ?? Path.GetFileName(url.AbsolutePath);
            if (string.IsNullOrWhiteSpace(fileName) || fileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || fileName is "." or "..")
                throw new WeightsRegistryException($"{where}: 'file_name' '{fileName}' is not a plain file name.");
            if (m.Sha256 is not null && !IsHex(m.Sha256, 64)) throw new WeightsRegistryException($"{where}: 'sha256' must be 64 hex digits.");
            if (m.Sha256Prefix is not null && !IsHex(m.Sha256Prefix, null)) throw new WeightsRegistryException($"{where}: 'sha256_prefix' must be hex digits.");
            if (m.Bands is null || m.Scaling is null) throw new WeightsRegistryException($"{where}: 'bands' and 'scaling' are required.");
            ModelContract contract;
            try
            {
                contract = new ModelContract
                {
                    Bands = m.Bands,
                    Scaling = new InputScaling(m.Scaling.Divisor, m.Scaling.Offset),
                    Spatial = ModelContract.ParseSpatial(Req(m.Spatial, "spatial")),
                    InputSize = m.InputSize ?? 224,
                    EmbeddingDim = m.EmbeddingDim ?? 2048,
                    ModelId = id,
                    Version = "1",
                    SourceSha256 = m.Sha256?.ToLowerInvariant(),
                    Source = url.ToString(),
                };
                contract.Validate();
            }
            catch (Exception e) when (e is ArgumentException or ModelMetadataException)
            {
                throw new WeightsRegistryException($"{where}: {e.Message}", e);
            }
            entries.Add(new WeightsEntry
            {
                Id = id, Title = m.Title ?? "", Url = url, FileName = fileName,
                Sha256 = m.Sha256?.ToLowerInvariant(), Sha256Prefix = m.Sha256Prefix?.ToLowerInvariant(),
                CheckpointLayout = m.CheckpointLayout ?? "plain_state_dict", Contract = contract,
                License = m.License ?? "see source", Source = m.Source ?? "", Notes = m.Notes ?? "", Citation = m.Citation ?? "",
            });
        }
        return new WeightsRegistry(entries);
    }

    private static bool IsHex(string s, int? length) => (length is null ? s.Length is > 0 and <= 64 : s.Length == length) && s.All(Uri.IsHexDigit);

    private static WeightsRegistry LoadEmbedded()
    {
        using var s = typeof(WeightsRegistry).Assembly.GetManifestResourceStream("SSL4Eco.Inference.Registry.registry.json")
            ?? throw new InvalidOperationException("The embedded weights registry is missing from the assembly.");
        return Parse(s, "embedded registry.json");
    }
}

/// <summary>Thrown when a weights registry file is invalid; the message names the entry and the field.</summary>
public sealed class WeightsRegistryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WeightsRegistryException(string message, Exception? inner = null) : base(message, inner) { }
}

internal sealed class RegistryFile
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; set; }
    [JsonPropertyName("models")] public List<RegistryModel>? Models { get; set; }
}

internal sealed class RegistryModel
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("title")] public string? Title { get; set; }
    [JsonPropertyName("url")] public string? Url { get; set; }
    [JsonPropertyName("file_name")] public string? FileName { get; set; }
    [JsonPropertyName("sha256")] public string? Sha256 { get; set; }
    [JsonPropertyName("sha256_prefix")] public string? Sha256Prefix { get; set; }
    [JsonPropertyName("checkpoint_layout")] public string? CheckpointLayout { get; set; }
    [JsonPropertyName("bands")] public List<string>? Bands { get; set; }
    [JsonPropertyName("scaling")] public RegistryScaling? Scaling { get; set; }
    [JsonPropertyName("spatial")] public string? Spatial { get; set; }
    [JsonPropertyName("input_size")] public int? InputSize { get; set; }
    [JsonPropertyName("embedding_dim")] public int? EmbeddingDim { get; set; }
    [JsonPropertyName("license")] public string? License { get; set; }
    [JsonPropertyName("source")] public string? Source { get; set; }
    [JsonPropertyName("notes")] public string? Notes { get; set; }
    [JsonPropertyName("citation")] public string? Citation { get; set; }
}

internal sealed class RegistryScaling
{
    [JsonPropertyName("divisor")] public double Divisor { get; set; }
    [JsonPropertyName("offset")] public double Offset { get; set; }
}

[JsonSerializable(typeof(RegistryFile))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
