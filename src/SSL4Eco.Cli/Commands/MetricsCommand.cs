using System.CommandLine;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco metrics --task T --y-true T.npy --y-score S.npy</c>: one JSON object of metrics.</summary>
internal static class MetricsCommand
{
    public static Command Create()
    {
        var task = new Option<TaskType>("--task") { Description = "Classification | MultiLabel | Regression | Distribution.", Required = true };
        var yTrue = new Option<FileInfo>("--y-true") { Description = ".npy: class indices [N] (classification), 0/1 [N, L] (multi-label), targets [N, T] or distributions [N, B].", Required = true };
        var yScore = new Option<FileInfo>("--y-score") { Description = ".npy: per-class probabilities [N, C], label scores [N, L], predictions [N, T] or predicted distributions [N, B].", Required = true };
        var command = new Command("metrics", "Compute the paper's metrics (scikit-learn definitions) for any model's predictions; prints one JSON object.") { task, yTrue, yScore };
        command.SetAction(parse => CliRunner.Run(() =>
        {
            var t = parse.GetValue(task);
            var (truth, tShape) = NpyFile.ReadDouble(parse.GetValue(yTrue)!.FullName);
            var (score, sShape) = NpyFile.ReadDouble(parse.GetValue(yScore)!.FullName);
            if (tShape.Length == 0 || sShape.Length == 0 || tShape[0] != sShape[0])
                throw new ArgumentException($"--y-true has shape ({string.Join(", ", tShape)}) and --y-score ({string.Join(", ", sShape)}): the row counts must match.");
            int outputs = sShape.Length == 1 ? 1 : sShape[1];
            var report = Metrics.Compute(t, truth, score, outputs);
            Console.WriteLine(JsonSerializer.Serialize(report));
            return 0;
        }));
        return command;
    }
}
