using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Quantization;
using SSL4Eco.Inference.Tests.Checkpoints;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Inference.Tests.Quantization;

namespace SSL4Eco.Inference.Tests.Conversion;

/// <summary>
/// <see cref="ModelBuilder"/>: the chain convert → head → int8/fp16 → raw input gives the same file as the single library
/// steps run by hand, staged files never outlive the call (success, failure, cancellation), and a failed build keeps an
/// existing output as it was.
/// </summary>
[Collection(CheckpointCollection.Name)]
public sealed class ModelBuilderTests(CheckpointFixture fx)
{
    private static readonly string[] RawBands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];

    private string Checkpoint => fx.File("lightning.ckpt");

    private static string SaveHead(TempDir dir)
    {
        var rng = new Random(3);
        var w = Enumerable.Range(0, 3 * 2048).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.01f).ToArray();
        var head = new LinearHead(TaskType.Classification, 2048, w, [0.1f, -0.2f, 0.3f], ["a", "b", "c"]);
        var path = dir.File("head.json");
        head.Save(path);
        return path;
    }

    [Fact]
    public void Build_equals_the_single_steps_run_by_hand_and_leaves_only_the_output()
    {
        using var dir = new TempDir();
        using var manual = new TempDir();
        var head = SaveHead(dir);
        var raw = new RawInputForm { Bands = RawBands, Height = 256, Width = 256 };
        var steps = new List<ModelBuildStep>();
        var built = ModelBuilder.Build(new ModelBuild
        {
            CheckpointPath = Checkpoint, OutputPath = dir.File("model.onnx"), Contract = SyntheticSentinel2.Contract,
            HeadPath = head, Precision = ModelPrecision.Fp16, RawInput = raw,
        }, new SyncProgress<ModelBuildStep>(steps.Add));

        Assert.Equal([ModelBuildStep.Convert, ModelBuildStep.AppendHead, ModelBuildStep.Float16, ModelBuildStep.RawInput], steps);
        CheckpointConverter.Convert(Checkpoint, manual.File("1.onnx"), SyntheticSentinel2.Contract);
        HeadOnnxFusion.Append(manual.File("1.onnx"), LinearHead.Load(head), manual.File("2.onnx"));
        ModelQuantizer.ConvertToFloat16(manual.File("2.onnx"), manual.File("3.onnx"));
        OnnxInputPreprocessing.Convert(manual.File("3.onnx"), manual.File("4.onnx"), raw);
        Assert.Equal(File.ReadAllBytes(manual.File("4.onnx")), File.ReadAllBytes(dir.File("model.onnx")));
        Assert.Equal(new[] { head, dir.File("model.onnx") }.Order(), Directory.GetFiles(dir.Path).Order());
        Assert.Equal(Path.GetFullPath(dir.File("model.onnx")), built.Conversion.OnnxPath);
        Assert.Equal(ModelPrecision.Fp16, built.Conversion.Contract.Precision);
        Assert.Equal(RawBands, built.Conversion.Contract.RawInput!.Bands);
        Assert.Equal(3, built.Head!.Outputs);
        Assert.Null(built.Quantization);
        var written = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(dir.File("model.onnx")).Metadata);
        Assert.Equal(ModelPrecision.Fp16, written.Precision);
    }

    [Fact]
    public void Int8_calibration_is_read_for_the_converted_models_contract()
    {
        using var dir = new TempDir();
        ModelContract? seen = null;
        var built = ModelBuilder.Build(new ModelBuild
        {
            CheckpointPath = Checkpoint, OutputPath = dir.File("q.onnx"), Contract = SyntheticSentinel2.Contract, Precision = ModelPrecision.Int8,
            Calibration = new Int8Calibration
            {
                Files = [dir.File("p0.tif"), dir.File("p1.tif")],
                Read = c => { seen = c; return QuantizationFixture.CalibrationPatches(2); },
                Options = new() { Method = CalibrationMethod.MinMax },
            },
        });
        Assert.Equal(SyntheticSentinel2.Contract.Bands, seen!.Bands);
        Assert.NotNull(seen.SourceSha256);
        Assert.Equal(ModelPrecision.Int8, built.Conversion.Contract.Precision);
        Assert.Equal(2, built.Quantization!.Calibration.Count);
        Assert.Equal("minmax", built.Quantization.Calibration.Method);
        Assert.Equal(Path.GetFullPath(dir.File("q.onnx")), built.Quantization.OutputPath);
        Assert.Equal([dir.File("q.onnx")], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_failing_last_step_keeps_the_existing_output_and_leaves_no_staged_file()
    {
        using var dir = new TempDir();
        var head = SaveHead(dir);
        File.WriteAllText(dir.File("model.onnx"), "keep");
        var e = Assert.ThrowsAny<Exception>(() => ModelBuilder.Build(new ModelBuild
        {
            CheckpointPath = Checkpoint, OutputPath = dir.File("model.onnx"), Contract = SyntheticSentinel2.Contract, HeadPath = head,
            RawInput = new RawInputForm { Bands = ["B2", "B3"], Height = 256, Width = 256 },
        }));
        Assert.True(e is ArgumentException or ModelMetadataException, e.ToString());
        Assert.Equal("keep", File.ReadAllText(dir.File("model.onnx")));
        Assert.Equal(new[] { head, dir.File("model.onnx") }.Order(), Directory.GetFiles(dir.Path).Order());
    }

    [Fact]
    public void Cancellation_between_steps_removes_the_staged_files()
    {
        using var dir = new TempDir();
        var head = SaveHead(dir);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => ModelBuilder.Build(new ModelBuild
        {
            CheckpointPath = Checkpoint, OutputPath = dir.File("model.onnx"), Contract = SyntheticSentinel2.Contract, HeadPath = head,
            Precision = ModelPrecision.Fp16,
        }, new SyncProgress<ModelBuildStep>(s => { if (s == ModelBuildStep.Float16) cts.Cancel(); }), cts.Token));
        Assert.Equal([head], Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData("int8-without-calibration", "needs calibration patches")]
    [InlineData("calibration-without-int8", "only used for int8")]
    [InlineData("output-is-checkpoint", "lightning.ckpt")]
    [InlineData("no-output", "OutputPath is empty")]
    [InlineData("bad-raw-form", "raw patch size must be positive")]
    public void Invalid_requests_fail_before_any_file_is_written_with_one_line_naming_the_problem(string kind, string mention)
    {
        using var dir = new TempDir();
        var calibration = new Int8Calibration { Files = [dir.File("p.tif")], Read = _ => [] };
        var ok = new ModelBuild { CheckpointPath = Checkpoint, OutputPath = dir.File("m.onnx"), Contract = SyntheticSentinel2.Contract };
        var request = kind switch
        {
            "int8-without-calibration" => ok with { Precision = ModelPrecision.Int8 },
            "calibration-without-int8" => ok with { Calibration = calibration },
            "output-is-checkpoint" => ok with { OutputPath = Checkpoint },
            "no-output" => ok with { OutputPath = " " },
            _ => ok with { RawInput = new RawInputForm { Bands = RawBands, Height = 0, Width = 256 } },
        };
        var before = File.ReadAllBytes(Checkpoint);
        var e = Assert.ThrowsAny<ArgumentException>(() => ModelBuilder.Build(request));
        Assert.Contains(mention, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
        Assert.Equal(before, File.ReadAllBytes(Checkpoint));
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
