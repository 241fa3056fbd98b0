using System.CommandLine;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Cli.Commands;

/// <summary>The options that spell out a model's input contract by hand (for checkpoints the registry does not know).</summary>
internal sealed class ContractOptions
{
    public Option<string?> Bands { get; } = new("--contract-bands") { Description = "Band names in the model's input order, comma-separated (e.g. B2,B3,B4,B5,B6,B7,B8,B8A,NDVI)." };
    public Option<double?> Divisor { get; } = new("--scale-divisor") { Description = "Scaling divisor: x = DN / divisor (official SeCo-Eco: 255; TorchGeo rehosts: 10000)." };
    public Option<string?> Spatial { get; } = new("--spatial") { Description = "center_crop_or_bicubic_upscale | bilinear_resize." };
    public Option<string?> ModelId { get; } = new("--model-id") { Description = "Identifier stored in the ONNX metadata." };

    public void AddTo(Command command)
    {
        command.Options.Add(Bands);
        command.Options.Add(Divisor);
        command.Options.Add(Spatial);
        command.Options.Add(ModelId);
    }

    /// <summary>The contract given on the command line, or null when none of its options were given.</summary>
    public ModelContract? Read(ParseResult parse)
    {
        var bands = parse.GetValue(Bands);
        var divisor = parse.GetValue(Divisor);
        var spatial = parse.GetValue(Spatial);
        var id = parse.GetValue(ModelId);
        if (bands is null && divisor is null && spatial is null) return null;
        if (bands is null || divisor is null)
            throw new ArgumentException("A hand-written contract needs both --contract-bands and --scale-divisor (and optionally --spatial).");
        var contract = new ModelContract
        {
            Bands = bands.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            Scaling = new InputScaling(divisor.Value),
            Spatial = spatial is null ? SpatialPolicy.CenterCropOrBicubicUpscale : ModelContract.ParseSpatial(spatial),
            ModelId = id ?? "custom",
        };
        contract.Validate();
        return contract;
    }
}
