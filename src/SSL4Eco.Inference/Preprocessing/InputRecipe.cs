using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// Everything that decides which embedding a patch gets, as one value: the model's contract, the scaling actually applied
/// (the contract's, or <see cref="PreprocessingOptions.ScalingOverride"/>), the harmonisation mode, how the input's bands
/// were resolved (when known) and the SHA-256 of the encoder's weights (when known). Its <see cref="ToCanonicalText"/> is the
/// one source of every fingerprint, cache key and output metadata that must change when an embedding could change: two
/// results made under different recipes are never mixed or served from one cache entry.
/// </summary>
/// <remarks>
/// <para>Immutable record; thread-safe. The single owner of every preprocessing decision: which bands to read from a raster
/// (<see cref="BandsToRead"/>), where each model channel comes from and when NDVI is derived from B4 and B8, whether a patch
/// is harmonised (<see cref="Harmonizes"/>, from the patch's processing baseline), the spatial step and the scaling.
/// <see cref="PatchPreprocessor"/> executes these decisions on the host; the in-graph preprocessing of raw-input models is
/// generated from <see cref="PlanGraph"/>, which asks the same methods, so there is no second copy of a band rule. Readers
/// only read, mask and fill, and pass the patch's processing baseline on.</para>
/// </remarks>
public sealed record InputRecipe
{
    /// <summary>The model's input/output contract.</summary>
    public required ModelContract Contract { get; init; }

    /// <summary>The scaling applied to the input: the contract's, or the override in effect.</summary>
    public required InputScaling Scaling { get; init; }

    /// <summary>The harmonisation mode in effect.</summary>
    public HarmonizeMode Harmonize { get; init; } = HarmonizeMode.Auto;

    /// <summary>The input's band names in file order as resolved for this run; null when not tied to one input.</summary>
    public IReadOnlyList<string>? InputBands { get; init; }

    /// <summary>Lower-case hex SHA-256 of the encoder's weights (the ONNX file); null when unknown.</summary>
    public string? WeightsSha256 { get; init; }

    /// <summary>The recipe of <paramref name="contract"/> under <paramref name="options"/> (scaling override and harmonisation mode).</summary>
    public static InputRecipe For(ModelContract contract, PreprocessingOptions? options = null, string? weightsSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(contract);
        options ??= PreprocessingOptions.Default;
        return new InputRecipe
        {
            Contract = contract,
            Scaling = options.ScalingOverride ?? contract.Scaling,
            Harmonize = options.Harmonize,
            WeightsSha256 = weightsSha256,
        };
    }

    /// <summary>
    /// The bands to read from a raster whose bands are named <paramref name="available"/>, canonical (<see cref="BandName.Canonical"/>)
    /// and each once, in the contract's order: the contract's bands, with B4 and B8 in place of NDVI when no available band is
    /// NDVI (NDVI is then derived). Bands the raster lacks are listed all the same, so the reader can name them.
    /// </summary>
    public IReadOnlyList<string> BandsToRead(IReadOnlyList<string> available)
    {
        ArgumentNullException.ThrowIfNull(available);
        bool hasNdvi = available.Any(a => a.Length > 0 && BandName.Canonical(a) == BandName.Ndvi);
        var read = new List<string>();
        foreach (var b in ContractBands())
            if (b == BandName.Ndvi && !hasNdvi) read.AddRange(NdviSources);
            else read.Add(b);
        return read.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Whether a patch of processing baseline <paramref name="processingBaseline"/> (null = unknown) is harmonised under <see cref="Harmonize"/>.</summary>
    public bool Harmonizes(double? processingBaseline) => Harmonization.Applies(Harmonize, processingBaseline);

    /// <summary>The bands NDVI is derived from when a patch has none: red (B4) and near infrared (B8).</summary>
    private static readonly string[] NdviSources = ["B4", "B8"];

    /// <summary>The contract's bands in canonical form.</summary>
    private string[] ContractBands() => Contract.Bands.Select(BandName.Canonical).ToArray();

    /// <summary>Throws <see cref="ArgumentException"/> for an invalid contract, scaling or mode, or a contract naming a band twice.</summary>
    internal void Validate()
    {
        Contract.Validate();
        Scaling.Validate();
        if (!Enum.IsDefined(Harmonize))
            throw new ArgumentException($"{nameof(Harmonize)} has the undefined value {(int)Harmonize}.", nameof(Harmonize));
        if (Contract.RawInput is not null && Scaling != Contract.Scaling)
            throw new ArgumentException($"The model preprocesses its input in the graph with x = (DN - {Contract.Scaling.Offset}) / {Contract.Scaling.Divisor}; a different scaling override cannot apply. Convert the model again with that scaling, or drop the override.", nameof(Scaling));
        var wanted = ContractBands();
        if (wanted.Distinct().Count() != wanted.Length)
            throw new ArgumentException($"Model contract bands [{string.Join(", ", Contract.Bands)}] name the same band twice (B08 = B8).", nameof(Contract));
    }

    /// <summary>
    /// Where each contract channel comes from in an input whose bands are <paramref name="bandNames"/> (file order): the band's
    /// index, or -1 for NDVI derived from <c>Red</c> (B4) and <c>Nir</c> (B8) (both -1 when nothing is derived), and whether each
    /// channel is a reflectance band that harmonisation shifts. The one place band selection is decided: host preprocessing
    /// (<see cref="PatchPreprocessor"/>) and the in-graph preprocessing (<see cref="PlanGraph"/>) use it.
    /// Throws <see cref="ArgumentException"/> (parameter <paramref name="paramName"/>) naming a missing or doubly named band.
    /// </summary>
    internal ChannelSources ResolveChannels(IReadOnlyList<string> bandNames, string paramName)
    {
        var wanted = ContractBands();
        var index = IndexBands(wanted, bandNames, paramName);
        var sources = new int[wanted.Length];
        int red = -1, nir = -1;
        for (int c = 0; c < wanted.Length; c++)
        {
            string want = wanted[c];
            if (index.TryGetValue(want, out int bi)) sources[c] = bi;
            else if (want == BandName.Ndvi && index.TryGetValue(NdviSources[0], out red) && index.TryGetValue(NdviSources[1], out nir)) sources[c] = -1;
            else
            {
                string how = want == BandName.Ndvi ? " and cannot be derived (NDVI needs B4 and B8)" : "";
                throw new ArgumentException($"Patch lacks band '{Contract.Bands[c]}'{how}; the patch has [{string.Join(", ", bandNames)}], the model needs [{string.Join(", ", Contract.Bands)}].", paramName);
            }
        }
        return new ChannelSources(sources, red, nir, wanted.Select(BandName.IsReflectance).ToArray());
    }

    private static Dictionary<string, int> IndexBands(string[] wanted, IReadOnlyList<string> bandNames, string paramName)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var twice = new List<(string Name, int First, int Second)>();
        for (int i = 0; i < bandNames.Count; i++)
        {
            var name = BandName.Canonical(bandNames[i]);
            if (!index.TryAdd(name, i)) twice.Add((name, index[name], i));
        }
        // A used band named twice is ambiguous; B4 and B8 are used when NDVI is derived from them.
        foreach (var (name, first, second) in twice)
            if (wanted.Contains(name) || NdviSources.Contains(name) && wanted.Contains(BandName.Ndvi) && !index.ContainsKey(BandName.Ndvi))
                throw new ArgumentException($"Patch names band '{name}' twice ('{bandNames[first]}' and '{bandNames[second]}'); name each band once.", paramName);
        return index;
    }

    /// <summary>Whether the raw band <paramref name="bandName"/> is shifted by harmonisation (reflectance bands are; NDVI is not).</summary>
    internal static bool HarmonizesBand(string bandName) => Harmonization.AppliesToBand(bandName);

    /// <summary>How a patch of <paramref name="h"/> x <paramref name="w"/> is brought to the input size (the one decision host and graph share).</summary>
    internal SpatialStep SpatialFor(int h, int w)
    {
        int s = Contract.InputSize;
        if (Contract.Spatial == SpatialPolicy.BilinearResize) return h == s && w == s ? SpatialStep.None : SpatialStep.Bilinear;
        return h >= s && w >= s ? SpatialStep.Crop : SpatialStep.Bicubic;
    }

    /// <summary>
    /// The size <c>cvtransforms.Resize(S)</c> produces for the bicubic step: the shorter side becomes S, the longer
    /// <c>int(S * long / short)</c>; the result is then centre-cropped to S x S.
    /// </summary>
    internal static (int Height, int Width) UpscaledSize(int h, int w, int s)
    {
        if (w < h) return ((int)(s * (double)h / w), s);
        return (s, (int)(s * (double)w / h));
    }

    /// <summary>
    /// The preprocessing of this recipe for patches of the raw form <paramref name="raw"/>, as the plan the in-graph
    /// preprocessing is generated from (the band resolution, NDVI rule, spatial decision and scaling of this recipe, as
    /// <see cref="PatchPreprocessor"/> executes them). Throws <see cref="ArgumentException"/> when the raw bands cannot feed the contract.
    /// </summary>
    internal PreprocessingGraphPlan PlanGraph(RawInputForm raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        return PreprocessingGraphPlan.Create(this, raw);
    }

    /// <summary>
    /// The recipe as metadata: the contract's items, with the scaling items holding the scaling in effect, plus the
    /// harmonisation mode, the input bands and the weights' hash when known, and <c>ssl4eco.recipe_sha256</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var d = Items();
        d["ssl4eco.recipe_sha256"] = Sha256();
        return d;
    }

    /// <summary>
    /// The recipe as stable text, one <c>key=value</c> line per item in ordinal key order: equal recipes give equal text, so
    /// it keys caches and fingerprints of work that depends on how patches are turned into embeddings.
    /// </summary>
    public string ToCanonicalText() =>
        string.Concat(Items().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}\n"));

    /// <summary>Lower-case hex SHA-256 of <see cref="ToCanonicalText"/>.</summary>
    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalText())));

    private Dictionary<string, string> Items()
    {
        var d = new Dictionary<string, string>(Contract.ToMetadata(), StringComparer.Ordinal)
        {
            [ModelContract.MetadataKeys.ScalingDivisor] = Scaling.Divisor.ToString("R", CultureInfo.InvariantCulture),
            [ModelContract.MetadataKeys.ScalingOffset] = Scaling.Offset.ToString("R", CultureInfo.InvariantCulture),
            ["ssl4eco.harmonize"] = Harmonize.ToString().ToLowerInvariant(),
        };
        if (InputBands is not null) d["ssl4eco.input_bands"] = string.Join(',', InputBands);
        if (WeightsSha256 is not null) d["ssl4eco.weights_sha256"] = WeightsSha256;
        return d;
    }
}

/// <summary>
/// Where each model channel comes from (<see cref="InputRecipe.ResolveChannels"/>): a band index, or -1 for NDVI derived from
/// <paramref name="Red"/> and <paramref name="Nir"/>; <paramref name="Reflectance"/> says per channel whether harmonisation shifts it.
/// </summary>
internal sealed record ChannelSources(int[] Sources, int Red, int Nir, bool[] Reflectance);
