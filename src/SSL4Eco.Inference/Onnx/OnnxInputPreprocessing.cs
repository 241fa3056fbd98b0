using Google.Protobuf;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx.Proto;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Onnx;

/// <summary>
/// Puts an encoder's preprocessing inside its ONNX graph: the converted model takes raw patches
/// (<see cref="RawInputName"/> <c>[N, bands, H, W]</c>, uint16 or float32, in the file's band order) and
/// <see cref="HarmonizeOffsetName"/> float <c>[N]</c>, and does band selection (Gather), NDVI from B4/B8 (float32, negatives
/// to 0, × 10000, clamped to 65535, truncated), harmonisation (<c>max(v - offset, 0)</c> on reflectance bands of patches with
/// offset &gt; 0), the spatial policy (centre crop as a Slice; bicubic upscale or bilinear resize as one MatMul per axis with
/// the host's weights) and the scaling (Sub, Div) as ONNX operators ahead of conv1, so they run on the execution provider.
/// The operators are generated from <see cref="InputRecipe.PlanGraph"/>; no band rule is written here.
/// </summary>
/// <remarks>
/// <para>Equality with host preprocessing: crop, band selection, harmonisation, NDVI and scaling are the same IEEE float32
/// operations in the same order, so they are bit-exact. The resizing steps sum the same taps in a different order (a
/// MatMul over the whole axis, clamped border taps merged): within 1e-4 relative to the input's range (tested).</para>
/// <para>Harmonisation is a per-call input, not a conversion option: one batch may mix scenes of baselines before and after
/// 04.00, and <see cref="HarmonizeMode.Auto"/> decides per patch. The encoder feeds 1000 for a patch its
/// <see cref="PatchPreprocessor.HarmonizesPatch"/> says yes to, else 0.</para>
/// <para>Stateless; thread-safe.</para>
/// </remarks>
public static class OnnxInputPreprocessing
{
    /// <summary>Name of the raw patch input.</summary>
    public const string RawInputName = "raw";

    /// <summary>Name of the per-patch harmonisation offset input (float <c>[N]</c>: 1000 to remove the baseline offset, 0 not to).</summary>
    public const string HarmonizeOffsetName = "harmonize_offset";

    /// <summary>
    /// Reads the encoder at <paramref name="encoderPath"/> (written by <c>ssl4eco convert</c>, contract in its metadata) and
    /// writes a raw-input copy to <paramref name="outputPath"/> (atomically). The recipe is the contract's, with the scaling
    /// override of <paramref name="options"/> when given (its harmonisation mode is not baked in: see the remarks).
    /// </summary>
    /// <exception cref="ArgumentException">The raw bands cannot feed the contract, or the form is invalid.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX encoder with one float input <c>[N, C, S, S]</c>.</exception>
    /// <exception cref="ModelMetadataException">The file has no contract, or already takes raw input.</exception>
    public static ModelContract Convert(string encoderPath, string outputPath, RawInputForm raw, PreprocessingOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(encoderPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        ArgumentNullException.ThrowIfNull(raw);
        ModelProto model;
        using (var s = new FileStream(encoderPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            model = OnnxModelFile.Parse(s, encoderPath);
        var contract = Prepend(model, raw, options);
        cancellationToken.ThrowIfCancellationRequested();
        AtomicFile.Write(outputPath, model.WriteTo, cancellationToken);
        return contract;
    }

    /// <summary>As <see cref="Convert(string, string, RawInputForm, PreprocessingOptions, CancellationToken)"/> on bytes; returns the new model.</summary>
    public static byte[] Convert(byte[] encoderOnnx, RawInputForm raw, PreprocessingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(encoderOnnx);
        ArgumentNullException.ThrowIfNull(raw);
        using var ms = new MemoryStream(encoderOnnx, writable: false);
        var model = OnnxModelFile.Parse(ms, "encoder bytes");
        Prepend(model, raw, options);
        return model.ToByteArray();
    }

    /// <summary>Rewrites <paramref name="model"/> in place; returns the new contract (with <see cref="ModelContract.RawInput"/>).</summary>
    internal static ModelContract Prepend(ModelProto model, RawInputForm raw, PreprocessingOptions? options)
    {
        var meta = model.MetadataProps.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        var contract = ModelContract.FromMetadata(meta);
        if (contract.RawInput is not null)
            throw new ModelMetadataException("The model already takes raw input (its preprocessing is in the graph); convert the checkpoint or the preprocessed-input model instead.");
        var recipe = InputRecipe.For(contract, options);
        var plan = recipe.PlanGraph(raw);
        var graph = model.Graph;
        var inits = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(v => !inits.Contains(v.Name)).ToList();
        int c = contract.Channels, size = contract.InputSize;
        if (inputs.Count != 1 || inputs[0].Type?.TensorType is not { } tt || tt.ElemType != (int)TensorProto.Types.DataType.Float
            || tt.Shape is null || tt.Shape.Dim.Count != 4)
            throw new InvalidDataException($"The encoder must have one float input [N, {c}, {size}, {size}]; it has {inputs.Count} inputs ({string.Join(", ", inputs.Select(v => v.Name))}).");
        string encoderInput = inputs[0].Name;
        var batchDim = tt.Shape.Dim[0];
        object batch = batchDim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? batchDim.DimValue : (object)(batchDim.HasDimParam ? batchDim.DimParam : "batch");
        graph.Input.Remove(inputs[0]);

        var g = new OnnxGraphBuilder(graph);
        int before = graph.Node.Count;
        var last = Build(g, plan, batch);
        // The encoder's old input name becomes the output of the preprocessing (nodes keep reading it).
        var final = new NodeProto { OpType = "Identity", Name = "pre.to_encoder" };
        final.Input.Add(last);
        final.Output.Add(encoderInput);
        graph.Node.Add(final);
        // Preprocessing nodes go first (ONNX requires topological order).
        var added = graph.Node.Skip(before).ToList();
        for (int i = graph.Node.Count - 1; i >= before; i--) graph.Node.RemoveAt(i);
        for (int i = 0; i < added.Count; i++) graph.Node.Insert(i, added[i]);

        var result = contract with { Scaling = recipe.Scaling, RawInput = raw };
        foreach (var (k, v) in result.ToMetadata())
        {
            var e = model.MetadataProps.FirstOrDefault(x => x.Key == k);
            if (e is null) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
            else e.Value = v;
        }
        model.DocString = (model.DocString ?? "") + $" Raw input '{RawInputName}' {RawInputForm.SampleTypeName(raw.SampleType)} [N, {raw.Bands.Count}, {raw.Height}, {raw.Width}] ({string.Join(",", raw.Bands)}) preprocessed in the graph.";
        return result;
    }

    private static string Build(OnnxGraphBuilder g, PreprocessingGraphPlan plan, object batch)
    {
        var raw = plan.Raw;
        int s = plan.InputSize;
        g.AddInput(RawInputName, batch, (long)raw.Bands.Count, (long)raw.Height, (long)raw.Width);
        if (raw.SampleType == RawSampleType.UInt16)
            g.Graph.Input[^1].Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Uint16;
        g.AddInput(HarmonizeOffsetName, batch);

        string x = RawInputName;
        // A crop commutes with every per-pixel step, so it comes first (less work, identical values).
        if (plan.Spatial == SpatialStep.Crop && (raw.Height != s || raw.Width != s))
        {
            var (top, left) = plan.CropOffset;
            x = g.AddNode("Slice", [x, Int64(g, "pre.crop.starts", top, left), Int64(g, "pre.crop.ends", top + s, left + s), Int64(g, "pre.crop.axes", 2, 3)], "pre.crop");
        }
        if (!plan.Gathered.SequenceEqual(Enumerable.Range(0, raw.Bands.Count)))
            x = g.AddNode("Gather", [x, Int64(g, "pre.bands.index", plan.Gathered.Select(i => (long)i).ToArray())], "pre.bands", OnnxGraphBuilder.Int("axis", 1));
        if (raw.SampleType == RawSampleType.UInt16)
            x = g.AddNode("Cast", [x], "pre.float", OnnxGraphBuilder.Int("to", (int)TensorProto.Types.DataType.Float));

        // Harmonisation: where the patch's offset x band mask is positive, max(v - offset, 0); elsewhere v unchanged.
        int k = plan.Gathered.Length;
        string zero = g.AddInitializer("pre.zero", [0f]);
        var mask = plan.Harmonizable.Select(b => b ? 1f : 0f).ToArray();
        string offset = g.AddNode("Reshape", [HarmonizeOffsetName, Int64(g, "pre.harmonize.shape", -1, 1, 1, 1)], "pre.harmonize.offset");
        string eff = g.AddNode("Mul", [offset, g.AddInitializer("pre.harmonize.mask", mask, 1, k, 1, 1)], "pre.harmonize.band_offset");
        string shifted = g.AddNode("Sub", [x, eff], "pre.harmonize.shifted");
        string clamped = g.AddNode("Max", [shifted, zero], "pre.harmonize.clamped");
        string applies = g.AddNode("Greater", [eff, zero], "pre.harmonize.applies");
        x = g.AddNode("Where", [applies, clamped, x], "pre.harmonized");

        // Channels in contract order: runs of direct bands (Gather) and derived NDVI, concatenated.
        bool identity = plan.Red < 0 && plan.Channels.SequenceEqual(Enumerable.Range(0, k));
        if (!identity)
        {
            var pieces = new List<string>();
            var run = new List<long>();
            void Flush()
            {
                if (run.Count == 0) return;
                string name = $"pre.channels.{pieces.Count}";
                pieces.Add(g.AddNode("Gather", [x, Int64(g, name + ".index", run.ToArray())], name, OnnxGraphBuilder.Int("axis", 1)));
                run.Clear();
            }
            foreach (int ch in plan.Channels)
            {
                if (ch >= 0) { run.Add(ch); continue; }
                Flush();
                pieces.Add(Ndvi(g, x, plan));
            }
            Flush();
            x = pieces.Count == 1 ? pieces[0] : g.AddNode("Concat", pieces, "pre.channels", OnnxGraphBuilder.Int("axis", 1));
        }

        if (plan.ResizeWeights is var (rows, cols))
        {
            // Horizontal pass first, as the host: [.., H, W] x [W, S], then [S, H] x [.., H, S].
            x = g.AddNode("MatMul", [x, g.AddInitializer("pre.resize.columns_t", Transpose(cols, s, raw.Width), raw.Width, s)], "pre.resize.columns");
            x = g.AddNode("MatMul", [g.AddInitializer("pre.resize.rows", rows, s, raw.Height), x], "pre.resize");
        }
        var (off, div) = plan.Scaling;
        if (off != 0) x = g.AddNode("Sub", [x, g.AddInitializer("pre.scale.offset", [off])], "pre.scale.shifted");
        if (div != 1) x = g.AddNode("Div", [x, g.AddInitializer("pre.scale.divisor", [div])], "pre.scaled");
        return x;
    }

    /// <summary>NDVI as <see cref="PatchPreprocessor"/> computes it, operation for operation (<c>Floor</c> = truncation: the value is ≥ 0).</summary>
    private static string Ndvi(OnnxGraphBuilder g, string x, PreprocessingGraphPlan plan)
    {
        var (eps, scale, max) = plan.Ndvi;
        string red = g.AddNode("Gather", [x, Int64(g, "pre.ndvi.red_index", plan.Red)], "pre.ndvi.red", OnnxGraphBuilder.Int("axis", 1));
        string nir = g.AddNode("Gather", [x, Int64(g, "pre.ndvi.nir_index", plan.Nir)], "pre.ndvi.nir", OnnxGraphBuilder.Int("axis", 1));
        string sum = g.AddNode("Add", [nir, red], "pre.ndvi.sum");
        sum = g.AddNode("Add", [sum, g.AddInitializer("pre.ndvi.epsilon", [eps])], "pre.ndvi.denominator");
        string diff = g.AddNode("Sub", [nir, red], "pre.ndvi.difference");
        string v = g.AddNode("Div", [diff, sum], "pre.ndvi.ratio");
        v = g.AddNode("Max", [v, "pre.zero"], "pre.ndvi.positive");
        v = g.AddNode("Mul", [v, g.AddInitializer("pre.ndvi.scale", [scale])], "pre.ndvi.scaled");
        v = g.AddNode("Min", [v, g.AddInitializer("pre.ndvi.max", [max])], "pre.ndvi.clamped");
        return g.AddNode("Floor", [v], "pre.ndvi");
    }

    private static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        return t;
    }

    private static string Int64(OnnxGraphBuilder g, string name, params long[] values)
    {
        if (g.IsUsed(name)) throw new InvalidOperationException($"ONNX graph already has a value named '{name}'.");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.Add(values);
        g.Graph.Initializer.Add(t);
        return name;
    }
}
