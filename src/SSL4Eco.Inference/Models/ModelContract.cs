using System.Globalization;

namespace SSL4Eco.Inference.Models;

/// <summary>How a patch is brought to the model's square input size.</summary>
public enum SpatialPolicy
{
    /// <summary>
    /// The official SSL4Eco policy: a centre crop to the input size when the patch is at least that large
    /// (offset <c>round((h - size) / 2)</c>, half-to-even), else a bicubic upscale (OpenCV <c>INTER_CUBIC</c>:
    /// Keys kernel a = -0.75, half-pixel centres, replicated border).
    /// </summary>
    CenterCropOrBicubicUpscale,

    /// <summary>TorchGeo's declared policy: resize the whole patch to the input size (bilinear, half-pixel centres, no antialias).</summary>
    BilinearResize,
}

/// <summary>
/// The affine scaling applied to Sentinel-2 digital numbers before the encoder: <c>x = (DN - Offset) / Divisor</c>.
/// It is data of each weights entry (official SeCo-Eco: divisor 255; TorchGeo rehosts: 10000), never hard-coded.
/// </summary>
/// <param name="Divisor">The divisor; finite and non-zero.</param>
/// <param name="Offset">Subtracted before dividing; 0 for every released model.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public readonly record struct InputScaling(double Divisor, double Offset = 0)
{
    /// <summary>Validates the scaling and throws <see cref="ArgumentException"/> when it is unusable.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Divisor) || Divisor == 0)
            throw new ArgumentException($"Scaling divisor must be finite and non-zero, got {Divisor}.");
        if (!double.IsFinite(Offset))
            throw new ArgumentException($"Scaling offset must be finite, got {Offset}.");
    }
}

/// <summary>The element type of a raw-input model's pixels.</summary>
public enum RawSampleType
{
    /// <summary>Unsigned 16-bit digital numbers (Sentinel-2 L2A as stored).</summary>
    UInt16,
    /// <summary>32-bit floats holding digital numbers.</summary>
    Float32,
}

/// <summary>
/// The raw input of a model converted with its preprocessing inside the graph (<c>ssl4eco convert --input-form raw</c>):
/// the model takes <c>raw</c> <c>[N, Bands.Count, Height, Width]</c> of <see cref="SampleType"/> in the file's band order plus
/// <c>harmonize_offset</c> float <c>[N]</c> (1000 for a patch whose baseline offset is removed, 0 otherwise), and does band
/// selection, NDVI, harmonisation, the spatial policy and the scaling itself.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record RawInputForm
{
    /// <summary>Band names of the raw input in file order.</summary>
    public required IReadOnlyList<string> Bands { get; init; }

    /// <summary>Element type of the raw pixels.</summary>
    public RawSampleType SampleType { get; init; } = RawSampleType.UInt16;

    /// <summary>Patch height in pixels (fixed: the crop offsets and resize weights are constants of the graph).</summary>
    public required int Height { get; init; }

    /// <summary>Patch width in pixels.</summary>
    public required int Width { get; init; }

    /// <summary>Values per raw patch: bands × height × width.</summary>
    public int ValuesPerPatch => Bands.Count * Height * Width;

    /// <summary>The metadata name of a sample type (<c>uint16</c>, <c>float32</c>).</summary>
    public static string SampleTypeName(RawSampleType type) => type switch
    {
        RawSampleType.UInt16 => "uint16",
        RawSampleType.Float32 => "float32",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Parses a sample type name (see <see cref="SampleTypeName"/>); throws <see cref="ArgumentException"/> naming the accepted ones.</summary>
    public static RawSampleType ParseSampleType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "uint16" => RawSampleType.UInt16,
        "float32" or "float" => RawSampleType.Float32,
        _ => throw new ArgumentException($"Unknown raw sample type '{name}' (expected uint16 or float32)."),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem when the form is unusable.</summary>
    public void Validate()
    {
        if (Bands.Count == 0) throw new ArgumentException("The raw input form has no bands.");
        if (Bands.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("The raw input form has an empty band name.");
        if (!Enum.IsDefined(SampleType)) throw new ArgumentException($"Raw sample type has the undefined value {(int)SampleType}.");
        if (Height <= 0 || Width <= 0) throw new ArgumentException($"Raw patch size must be positive, got {Height}x{Width}.");
        if ((long)Bands.Count * Height * Width > int.MaxValue / 4) throw new ArgumentException($"Raw patch {Bands.Count}x{Height}x{Width} is too large.");
    }
}

/// <summary>
/// The model's input/output contract: which bands in which order, how they are scaled, how a patch is brought to
/// the input size, and the embedding size. It travels inside the ONNX file as <c>metadata_props</c>
/// (see <see cref="MetadataKeys"/>) and inside the weights registry; nothing else in the library hard-codes
/// these numbers.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record ModelContract
{
    /// <summary>Band names in the order the encoder expects them (e.g. B2..B8A, NDVI).</summary>
    public required IReadOnlyList<string> Bands { get; init; }

    /// <summary>Scaling from digital numbers to model input.</summary>
    public required InputScaling Scaling { get; init; }

    /// <summary>How patches are brought to <see cref="InputSize"/>.</summary>
    public required SpatialPolicy Spatial { get; init; }

    /// <summary>Height and width of the square model input, in pixels.</summary>
    public int InputSize { get; init; } = 224;

    /// <summary>Length of the embedding vector.</summary>
    public int EmbeddingDim { get; init; } = 2048;

    /// <summary>Identifier of the weights (registry id), e.g. <c>seco-eco</c>.</summary>
    public string ModelId { get; init; } = "custom";

    /// <summary>Version of the weights or of the conversion.</summary>
    public string Version { get; init; } = "1";

    /// <summary>SHA-256 (lower-case hex) of the checkpoint the model was converted from, when known.</summary>
    public string? SourceSha256 { get; init; }

    /// <summary>Free-text origin (file name or URL) of the weights.</summary>
    public string? Source { get; init; }

    /// <summary>
    /// Numeric precision of the encoder's weights and arithmetic (<c>ssl4eco.precision</c>; a model without the key is
    /// <see cref="ModelPrecision.Fp32"/>). Part of <see cref="ToMetadata"/> (and so of every recipe fingerprint) when not fp32.
    /// </summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Fp32;

    /// <summary>How an int8 model's activation ranges were calibrated; null for fp32/fp16 models.</summary>
    public CalibrationSummary? Calibration { get; init; }

    /// <summary>
    /// The raw input the model takes when its preprocessing is inside the graph; null (the default) when it takes preprocessed
    /// float input <c>[N, Channels, InputSize, InputSize]</c>.
    /// </summary>
    public RawInputForm? RawInput { get; init; }

    /// <summary>Number of input channels (= <see cref="Bands"/> count).</summary>
    public int Channels => Bands.Count;

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem when the contract is inconsistent.</summary>
    public void Validate()
    {
        if (Bands.Count == 0) throw new ArgumentException("Model contract has no bands.");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var b in Bands)
        {
            if (string.IsNullOrWhiteSpace(b)) throw new ArgumentException("Model contract has an empty band name.");
            if (!seen.Add(b)) throw new ArgumentException($"Model contract lists band '{b}' twice.");
        }
        Scaling.Validate();
        if (InputSize <= 0) throw new ArgumentException($"Input size must be positive, got {InputSize}.");
        if (EmbeddingDim <= 0) throw new ArgumentException($"Embedding dimension must be positive, got {EmbeddingDim}.");
        RawInput?.Validate();
    }

    /// <summary>The ONNX <c>metadata_props</c> keys this contract is stored under. Names follow STAC MLM where one exists.</summary>
    /// <remarks>Constants only; thread-safe.</remarks>
    public static class MetadataKeys
    {
        /// <summary>Comma-separated band names in input order.</summary>
        public const string Bands = "ssl4eco.bands";
        /// <summary>Scaling divisor (invariant culture double).</summary>
        public const string ScalingDivisor = "ssl4eco.scaling.divisor";
        /// <summary>Scaling offset (invariant culture double).</summary>
        public const string ScalingOffset = "ssl4eco.scaling.offset";
        /// <summary>Spatial policy: <c>center_crop_or_bicubic_upscale</c> or <c>bilinear_resize</c>.</summary>
        public const string Spatial = "ssl4eco.spatial";
        /// <summary>Square input size in pixels.</summary>
        public const string InputSize = "ssl4eco.input_size";
        /// <summary>Embedding length.</summary>
        public const string EmbeddingDim = "ssl4eco.embedding_dim";
        /// <summary>Registry id of the weights.</summary>
        public const string ModelId = "ssl4eco.model_id";
        /// <summary>Version string.</summary>
        public const string Version = "ssl4eco.version";
        /// <summary>SHA-256 of the source checkpoint.</summary>
        public const string SourceSha256 = "ssl4eco.source_sha256";
        /// <summary>Origin of the weights.</summary>
        public const string Source = "ssl4eco.source";
        /// <summary>Numeric precision: <c>fp32</c>, <c>fp16</c> or <c>int8</c>; absent means fp32.</summary>
        public const string Precision = "ssl4eco.precision";
        /// <summary>Number of calibration patches of an int8 model.</summary>
        public const string CalibrationCount = "ssl4eco.calibration.count";
        /// <summary>Calibration method of an int8 model: <c>minmax</c> or <c>percentile</c>.</summary>
        public const string CalibrationMethod = "ssl4eco.calibration.method";
        /// <summary>SHA-256 over the calibration inputs of an int8 model.</summary>
        public const string CalibrationSha256 = "ssl4eco.calibration.sha256";
        /// <summary>Input form: <c>raw</c> when preprocessing is inside the graph; absent (or <c>preprocessed</c>) otherwise.</summary>
        public const string InputForm = "ssl4eco.input_form";
        /// <summary>Comma-separated band names of the raw input in file order.</summary>
        public const string RawBands = "ssl4eco.raw.bands";
        /// <summary>Element type of the raw input: <c>uint16</c> or <c>float32</c>.</summary>
        public const string RawDtype = "ssl4eco.raw.dtype";
        /// <summary>Raw patch height in pixels.</summary>
        public const string RawHeight = "ssl4eco.raw.height";
        /// <summary>Raw patch width in pixels.</summary>
        public const string RawWidth = "ssl4eco.raw.width";
    }

    /// <summary>Every metadata key the contract reads or writes.</summary>
    public static IReadOnlySet<string> FromMetadataKeys { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        MetadataKeys.Bands, MetadataKeys.ScalingDivisor, MetadataKeys.ScalingOffset, MetadataKeys.Spatial, MetadataKeys.InputSize,
        MetadataKeys.EmbeddingDim, MetadataKeys.ModelId, MetadataKeys.Version, MetadataKeys.SourceSha256, MetadataKeys.Source,
        MetadataKeys.Precision, MetadataKeys.CalibrationCount, MetadataKeys.CalibrationMethod, MetadataKeys.CalibrationSha256,
        MetadataKeys.InputForm, MetadataKeys.RawBands, MetadataKeys.RawDtype, MetadataKeys.RawHeight, MetadataKeys.RawWidth,
    };

    /// <summary>Serialises the contract to metadata key/value pairs.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var d = new Dictionary<string, string>
        {
            [MetadataKeys.Bands] = string.Join(',', Bands),
            [MetadataKeys.ScalingDivisor] = Scaling.Divisor.ToString("R", CultureInfo.InvariantCulture),
            [MetadataKeys.ScalingOffset] = Scaling.Offset.ToString("R", CultureInfo.InvariantCulture),
            [MetadataKeys.Spatial] = SpatialName(Spatial),
            [MetadataKeys.InputSize] = InputSize.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.EmbeddingDim] = EmbeddingDim.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.ModelId] = ModelId,
            [MetadataKeys.Version] = Version,
        };
        if (SourceSha256 is not null) d[MetadataKeys.SourceSha256] = SourceSha256;
        if (Source is not null) d[MetadataKeys.Source] = Source;
        if (Precision != ModelPrecision.Fp32) d[MetadataKeys.Precision] = PrecisionName(Precision);
        if (Calibration is { } cal)
        {
            d[MetadataKeys.CalibrationCount] = cal.Count.ToString(CultureInfo.InvariantCulture);
            d[MetadataKeys.CalibrationMethod] = cal.Method;
            d[MetadataKeys.CalibrationSha256] = cal.Sha256;
        }
        if (RawInput is { } raw)
        {
            d[MetadataKeys.InputForm] = "raw";
            d[MetadataKeys.RawBands] = string.Join(',', raw.Bands);
            d[MetadataKeys.RawDtype] = RawInputForm.SampleTypeName(raw.SampleType);
            d[MetadataKeys.RawHeight] = raw.Height.ToString(CultureInfo.InvariantCulture);
            d[MetadataKeys.RawWidth] = raw.Width.ToString(CultureInfo.InvariantCulture);
        }
        return d;
    }

    /// <summary>
    /// The contract as stable text, one <c>key=value</c> line per <see cref="ToMetadata"/> item in ordinal key order: equal
    /// contracts give equal text, so it keys caches of work that depends on the contract.
    /// </summary>
    public string ToCanonicalText() =>
        string.Concat(ToMetadata().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}\n"));

    /// <summary>Reads a contract from metadata; throws <see cref="ModelMetadataException"/> naming the missing or bad key.</summary>
    public static ModelContract FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string Get(string key) => metadata.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v)
            ? v
            : throw new ModelMetadataException($"Model metadata lacks '{key}'; the ONNX file was not written by 'ssl4eco convert' (or its metadata was stripped). Re-convert the checkpoint, or pass the contract explicitly.");
        double GetDouble(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
            ? x : throw new ModelMetadataException($"Model metadata '{key}' = '{metadata[key]}' is not a number.");
        int GetInt(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
            ? x : throw new ModelMetadataException($"Model metadata '{key}' = '{metadata[key]}' is not an integer.");
        var contract = new ModelContract
        {
            Bands = Get(MetadataKeys.Bands).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            Scaling = new InputScaling(GetDouble(MetadataKeys.ScalingDivisor),
                metadata.ContainsKey(MetadataKeys.ScalingOffset) ? GetDouble(MetadataKeys.ScalingOffset) : 0),
            Spatial = ParseSpatial(Get(MetadataKeys.Spatial)),
            InputSize = GetInt(MetadataKeys.InputSize),
            EmbeddingDim = GetInt(MetadataKeys.EmbeddingDim),
            ModelId = metadata.TryGetValue(MetadataKeys.ModelId, out var id) ? id : "custom",
            Version = metadata.TryGetValue(MetadataKeys.Version, out var ver) ? ver : "1",
            SourceSha256 = metadata.TryGetValue(MetadataKeys.SourceSha256, out var sha) ? sha : null,
            Source = metadata.TryGetValue(MetadataKeys.Source, out var src) ? src : null,
            Precision = metadata.TryGetValue(MetadataKeys.Precision, out var prec) ? ParsePrecision(prec) : ModelPrecision.Fp32,
            Calibration = metadata.ContainsKey(MetadataKeys.CalibrationCount)
                ? new CalibrationSummary(GetInt(MetadataKeys.CalibrationCount), Get(MetadataKeys.CalibrationMethod), Get(MetadataKeys.CalibrationSha256))
                : null,
            RawInput = ReadRawInput(metadata, Get, GetInt),
        };
        try { contract.Validate(); }
        catch (ArgumentException e) { throw new ModelMetadataException("Model metadata is inconsistent: " + e.Message, e); }
        return contract;
    }

    private static RawInputForm? ReadRawInput(IReadOnlyDictionary<string, string> metadata, Func<string, string> get, Func<string, int> getInt)
    {
        if (!metadata.TryGetValue(MetadataKeys.InputForm, out var form) || form.Trim() is "" or "preprocessed") return null;
        if (form.Trim() != "raw")
            throw new ModelMetadataException($"Model metadata '{MetadataKeys.InputForm}' = '{form}' is unknown (expected raw or preprocessed).");
        RawSampleType type;
        try { type = RawInputForm.ParseSampleType(get(MetadataKeys.RawDtype)); }
        catch (ArgumentException e) { throw new ModelMetadataException($"Model metadata '{MetadataKeys.RawDtype}': {e.Message}", e); }
        return new RawInputForm
        {
            Bands = get(MetadataKeys.RawBands).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            SampleType = type,
            Height = getInt(MetadataKeys.RawHeight),
            Width = getInt(MetadataKeys.RawWidth),
        };
    }

    /// <summary>The metadata name of a spatial policy.</summary>
    public static string SpatialName(SpatialPolicy policy) => policy switch
    {
        SpatialPolicy.CenterCropOrBicubicUpscale => "center_crop_or_bicubic_upscale",
        SpatialPolicy.BilinearResize => "bilinear_resize",
        _ => throw new ArgumentOutOfRangeException(nameof(policy)),
    };

    /// <summary>Parses a spatial policy name (see <see cref="SpatialName"/>).</summary>
    public static SpatialPolicy ParseSpatial(string name) => name.Trim().ToLowerInvariant() switch
    {
        "center_crop_or_bicubic_upscale" => SpatialPolicy.CenterCropOrBicubicUpscale,
        "bilinear_resize" => SpatialPolicy.BilinearResize,
        _ => throw new ModelMetadataException($"Unknown spatial policy '{name}' (expected center_crop_or_bicubic_upscale or bilinear_resize)."),
    };

    /// <summary>The metadata name of a precision: <c>fp32</c>, <c>fp16</c> or <c>int8</c>.</summary>
    public static string PrecisionName(ModelPrecision precision) => precision switch
    {
        ModelPrecision.Fp32 => "fp32",
        ModelPrecision.Fp16 => "fp16",
        ModelPrecision.Int8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };

    /// <summary>Parses a precision name (see <see cref="PrecisionName"/>; <c>float32</c>/<c>float16</c> are accepted too).</summary>
    public static ModelPrecision ParsePrecision(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => ModelPrecision.Fp32,
        "fp16" or "float16" => ModelPrecision.Fp16,
        "int8" => ModelPrecision.Int8,
        _ => throw new ModelMetadataException($"Unknown precision '{name}' (expected fp32, fp16 or int8)."),
    };
}

/// <summary>Numeric precision of an encoder (<see cref="ModelContract.Precision"/>).</summary>
public enum ModelPrecision
{
    /// <summary>float32 weights and arithmetic (what <c>ssl4eco convert</c> writes).</summary>
    Fp32,
    /// <summary>float16 weights and arithmetic, float32 input and output.</summary>
    Fp16,
    /// <summary>Static int8 quantisation (QDQ: s8 weights per output channel, u8 activations), float32 input and output.</summary>
    Int8,
}

/// <summary>How an int8 model's activation ranges were calibrated.</summary>
/// <param name="Count">Number of calibration patches.</param>
/// <param name="Method">Calibration method (<c>minmax</c> or <c>percentile</c>).</param>
/// <param name="Sha256">Lower-case hex SHA-256 over the calibration inputs.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record CalibrationSummary(int Count, string Method, string Sha256);

/// <summary>Thrown when a model's metadata is missing or inconsistent.</summary>
public sealed class ModelMetadataException : Exception
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    public ModelMetadataException(string message, Exception? inner = null) : base(message, inner) { }
}
