using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>Inputs the hostile tests share: the sample patches and the fixture's checkpoint converted once.</summary>
public static class HostileInputs
{
    /// <summary>A bundled sample patch (13 bands with descriptions B1 … NDVI).</summary>
    public static string Patch(string name) => Path.Combine(Repo.Samples, "patches", name);

    /// <summary>The fixture's checkpoint converted to ONNX once per fixture (converted on first use).</summary>
    public static string Onnx(CliModelFixture model)
    {
        var onnx = model.Dir.File("hostile.onnx");
        if (!File.Exists(onnx)) Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        return onnx;
    }
}
