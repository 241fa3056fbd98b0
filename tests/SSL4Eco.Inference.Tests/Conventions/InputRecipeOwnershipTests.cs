using System.Text.RegularExpressions;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Conventions;

/// <summary>
/// The input recipe is the single owner of how a raster becomes the model's input (docs/ARCHITECTURE.md, issue #11): only
/// <c>InputRecipe</c> and its executors (<c>PatchPreprocessor</c> on the host, <c>PreprocessingGraphPlan</c> in the graph)
/// read the contract's bands or scaling, the scaling override, or apply the harmonisation and NDVI rules. A source scan of
/// src/ finds every other place; each one left must be listed below with the reason it does not preprocess, and a listed
/// place that no longer matches fails too, so the list stays honest.
/// </summary>
public sealed partial class InputRecipeOwnershipTests
{
    /// <summary>The recipe and its executors (paths under src/), plus the files that define the rules they use.</summary>
    private static readonly string[] Owners =
    [
        "SSL4Eco.Inference/Preprocessing/InputRecipe.cs",
        "SSL4Eco.Inference/Preprocessing/PatchPreprocessor.cs",
        "SSL4Eco.Inference/Preprocessing/PreprocessingGraphPlan.cs",
        "SSL4Eco.Inference/Preprocessing/Harmonization.cs",
        "SSL4Eco.Inference/Preprocessing/BandName.cs",
        "SSL4Eco.Inference/Preprocessing/Ssl4EcoLayout.cs",
    ];

    /// <summary>Places outside the owners that match, each with a fragment of its line and why it does not decide preprocessing.</summary>
    private static readonly (string File, string Fragment, string Why)[] Allowed =
    [
        ("SSL4Eco.Inference.Geo/Dataset/DatasetFetcher.cs", "Harmonization.Applies(HarmonizeMode.Auto", "the dataset builder stores harmonised patches as a data product, by the same rule"),
        ("SSL4Eco.Inference.Geo/Dataset/DatasetFetcher.cs", "Harmonization.AppliesToBand(Ssl4EcoLayout", "the dataset builder stores harmonised patches as a data product, by the same rule"),
        ("SSL4Eco.Inference.Geo/Dataset/DatasetFetcher.cs", "Ssl4EcoLayout.IndexOf(BandName.Ndvi)", "the NDVI band of the stored 13-band layout"),
        ("SSL4Eco.Inference.Geo/Dataset/DatasetFetcher.cs", "PatchPreprocessor.ComputeNdvi(", "the stored NDVI band is computed as SSL4Eco stores it, by the executor's function"),
        ("SSL4Eco.Training/Export/SeCoExporter.cs", "[\"bands\"] = string.Join(\",\", Contract.Bands)", "hyper-parameters of the exported checkpoint"),
        ("SSL4Eco.Inference/Embedding/SeCoEcoEncoder.cs", "the contract ({string.Join(\",\", contract.Bands)}", "error message of an ONNX shape check"),
        ("SSL4Eco.Inference/Conversion/CheckpointConverter.cs", "bands ({string.Join(\",\", contract.Bands)}) but the checkpoint", "error message of a conv1 width check"),
        ("SSL4Eco.Inference/Onnx/ResNet50OnnxExporter.cs", "bands ({string.Join(\", \", contract.Bands)}) but the weights", "error message of a conv1 width check"),
        ("SSL4Eco.Inference/Onnx/ResNet50OnnxExporter.cs", "bands: {string.Join(\", \", contract.Bands)}; ", "the ONNX doc string"),
    ];

    [Fact]
    public void Only_the_input_recipe_decides_how_a_raster_becomes_the_model_input()
    {
        var src = Path.Combine(Repo.Root, "src");
        var findings = Scan(src);
        Assert.True(Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Count() > 100, "the source scan found too few files");
        var unexplained = findings.Where(f => !Allowed.Any(a => a.File == f.File && f.Line.Contains(a.Fragment, StringComparison.Ordinal))).ToArray();
        Assert.True(unexplained.Length == 0, "preprocessing decided outside InputRecipe (use the model's Recipe, or explain the use in Allowed):\n"
            + string.Join("\n", unexplained.Select(f => $"  src/{f.File}:{f.Number}: {f.Line.Trim()}")));
        var stale = Allowed.Where(a => !findings.Any(f => f.File == a.File && f.Line.Contains(a.Fragment, StringComparison.Ordinal))).ToArray();
        Assert.True(stale.Length == 0, "Allowed lists places that no longer match: " + string.Join("; ", stale.Select(a => $"{a.File} '{a.Fragment}'")));
    }

    [Fact]
    public void The_detector_finds_a_planted_decision_outside_the_recipe()
    {
        using var dir = new TempDir();
        var planted = Path.Combine(dir.Path, "SSL4Eco.Inference.Geo", "Pipeline");
        var owner = Path.Combine(dir.Path, "SSL4Eco.Inference", "Preprocessing");
        Directory.CreateDirectory(planted);
        Directory.CreateDirectory(owner);
        const string Decisions = """
            var wanted = model.Contract.Bands;                          // bands chosen by the reader
            var divisor = model.Contract?.Scaling.Divisor;              // scaling applied outside the recipe
            var scaling = options.ScalingOverride ?? contract.Scaling;  // the override resolved a second time
            if (Harmonization.Applies(mode, baseline)) Harmonization.Apply(data, data);
            if (name == BandName.Ndvi) PatchPreprocessor.ComputeNdvi(red, nir, ndvi);
            var fine = new PreprocessingOptions { ScalingOverride = s }; // setting an option is not a decision
            """;
        File.WriteAllText(Path.Combine(planted, "TileReader.cs"), Decisions);
        File.WriteAllText(Path.Combine(owner, "InputRecipe.cs"), Decisions);   // the owner may
        var found = Scan(dir.Path);
        Assert.All(found, f => Assert.Equal("SSL4Eco.Inference.Geo/Pipeline/TileReader.cs", f.File));
        Assert.Equal([1, 2, 3, 4, 5], found.Select(f => f.Number).Distinct().Order());
        Assert.Equal(2, found.Count(f => f.Number == 3));   // the override and the contract's scaling
    }

    /// <summary>Every match of <see cref="Decision"/> in the .cs files under <paramref name="src"/>, outside <see cref="Owners"/>; paths relative to it with '/'.</summary>
    private static List<(string File, int Number, string Line)> Scan(string src)
    {
        var sep = Path.DirectorySeparatorChar;
        var found = new List<(string, int, string)>();
        foreach (var path in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (path.Contains($"{sep}bin{sep}") || path.Contains($"{sep}obj{sep}")) continue;
            var file = Path.GetRelativePath(src, path).Replace('\\', '/');
            if (Owners.Contains(file)) continue;
            var lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal)) continue;
                foreach (Match m in Decision().Matches(lines[i])) found.Add((file, i + 1, lines[i]));
            }
        }
        return found;
    }

    /// <summary>
    /// A read of the contract's bands or scaling (<c>contract.Bands</c>, <c>Model.Contract?.Scaling</c>), a read of a scaling
    /// override (not an assignment), or the harmonisation and NDVI rules.
    /// </summary>
    [GeneratedRegex(@"\b[Cc]ontract\s*\??\.\s*(?:Bands|Scaling)\b|\.ScalingOverride\b(?!\s*=[^=>])|\bHarmonization\s*\.\s*(?:Apply|Applies|AppliesToBand)\b|\bBandName\s*\.\s*Ndvi\b|\bComputeNdvi\b")]
    private static partial Regex Decision();
}
