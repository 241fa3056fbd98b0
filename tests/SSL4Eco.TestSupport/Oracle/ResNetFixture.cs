using System.Globalization;

namespace SSL4Eco.Inference.Tests.Oracle;

/// <summary>
/// The one random torchvision ResNet-50 of the tests and benchmarks: <c>python/resnet_fixture.py</c> (its module doc
/// lists the parameters). Oracle scripts <c>import resnet_fixture</c> to build the model and then compute their own
/// reference on it; <see cref="Write"/> runs the script's command line for a checkpoint file alone.
/// </summary>
public static class ResNetFixture
{
    /// <summary>The script's path (benchmarks/gpu/make_ckpt.py and .ci/packages run the same file).</summary>
    public static string Script => Path.Combine(PythonOracle.ScriptsDirectory, "resnet_fixture.py");

    /// <summary>Writes a random ResNet-50 checkpoint to <paramref name="path"/> and returns the path.</summary>
    /// <param name="path">The checkpoint file to write.</param>
    /// <param name="inChannels">conv1's input channels.</param>
    /// <param name="seed">Seeds torch's global generator and the script's generator; null: unseeded.</param>
    /// <param name="init">"torchvision" or "scaled-normal" (N(0, gain / fan_in) for every parameter).</param>
    /// <param name="gain">The scaled-normal gain.</param>
    /// <param name="bn">BatchNorm statistics: "torchvision", "running", "running-affine" or "wide".</param>
    /// <param name="layout">"official" (SSL4Eco's Lightning checkpoint), "torchvision" or "torchgeo" (a zero 1000-class fc).</param>
    public static string Write(string path, int inChannels = 9, int? seed = null, string init = "torchvision", double gain = 1.0,
        string bn = "torchvision", string layout = "official")
    {
        var args = new List<string>
        {
            path, "--in-channels", inChannels.ToString(CultureInfo.InvariantCulture), "--init", init,
            "--gain", gain.ToString("R", CultureInfo.InvariantCulture), "--bn", bn, "--layout", layout,
        };
        if (seed is int s) args.AddRange(["--seed", s.ToString(CultureInfo.InvariantCulture)]);
        PythonOracle.RunFile(Script, [.. args]);
        return path;
    }
}
