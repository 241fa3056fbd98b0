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
/// Immutable record; thread-safe. Planned to become the single owner of every preprocessing decision (today
/// <see cref="PatchPreprocessor"/> still makes them from the same inputs: <see cref="For"/> mirrors its choices). The in-graph
/// preprocessing of raw-input models is generated from <see cref="PlanGraph"/>, which asks <see cref="PatchPreprocessor"/> for
/// every decision, so there is no second copy of the band rules.
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

    /// <summary>The recipe of <paramref name="contract"/> under <paramref name="options"/> (the same choices <see cref="PatchPreprocessor"/> makes).</summary>
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
    /// The preprocessing of this recipe for patches of the raw form <paramref name="raw"/>, as the plan the in-graph
    /// preprocessing is generated from (the same band resolution, NDVI rule, spatial decision and scaling as
    /// <see cref="PatchPreprocessor"/>). Throws <see cref="ArgumentException"/> when the raw bands cannot feed the contract.
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
