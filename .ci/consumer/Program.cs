// The README's library example, end to end, from packages: convert, embed a patch, map a scene, write a preview PNG.
//   consumer CHECKPOINT PATCH.tif SCENE.tif OUT_DIR      or      consumer --providers
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Previews;
using SSL4Eco.Inference.Geo.Rasters;

var report = ProviderDiagnostics.Probe();
Console.WriteLine($"onnx runtime: native {report.NativeVersion}, managed {report.ManagedVersion}, providers {string.Join(",", report.AvailableProviders)}");
if (!report.VersionsAgree) { Console.Error.WriteLine("error: native and managed ONNX Runtime versions differ"); return 1; }
if (args is ["--providers"]) return 0;

string checkpoint = args[0], patchPath = args[1], scene = args[2], outDir = args[3];
string onnx = Path.Combine(outDir, "seco-eco.onnx");
CheckpointConverter.Convert(checkpoint, onnx);

using var encoder = SeCoEcoEncoder.Open(onnx, new EncoderOptions { BatchSize = 8 });
var patch = PatchReader.Read(patchPath);
float[] embedding = encoder.Embed(patch);
if (embedding.Length != 2048 || embedding.Any(v => !float.IsFinite(v))) { Console.Error.WriteLine("error: bad embedding"); return 1; }
Console.WriteLine($"embedding: {embedding.Length} floats");

var result = await EmbeddingMapper.RunAsync(new MapRequest
{
    InputPath = scene, OutputPrefix = Path.Combine(outDir, "scene"), Formats = ["cog"], Stride = 112,
}, encoder);
foreach (var file in result.Files) Console.WriteLine($"wrote {file}");
string png = MapPreview.Write(Path.Combine(outDir, "scene.tif"), scene, Path.Combine(outDir, "scene.png"));
Console.WriteLine($"wrote {png}");
return 0;
