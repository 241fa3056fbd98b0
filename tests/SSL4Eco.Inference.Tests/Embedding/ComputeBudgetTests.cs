using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Embedding;

public sealed class ComputeBudgetTests
{
    [Theory]
    [InlineData(1, 1, 0)]     // one core: one batch at a time, ONNX Runtime's own threads
    [InlineData(2, 2, 1)]     // the project's 2-core machine: two batches, one core each
    [InlineData(3, 2, 1)]
    [InlineData(16, 2, 8)]
    public void On_the_cpu_two_batches_run_side_by_side_each_on_half_the_cores(int cores, int concurrency, int threads)
    {
        Assert.Equal((concurrency, threads), Split(ComputeBudget.For(ExecutionProvider.Cpu, cores)));
    }

    [Theory]
    [InlineData(ExecutionProvider.Cuda)]
    [InlineData(ExecutionProvider.TensorRT)]
    [InlineData(ExecutionProvider.DirectML)]
    public void On_a_gpu_one_batch_at_a_time_with_default_threads(ExecutionProvider provider)
    {
        Assert.Equal((1, 0), Split(ComputeBudget.For(provider, 16)));
    }

    [Fact]
    public void What_the_caller_sets_is_kept_and_the_rest_follows_from_it()
    {
        Assert.Equal((4, 4), Split(ComputeBudget.For(ExecutionProvider.Cpu, 16, embedConcurrency: 4)));
        Assert.Equal((2, 3), Split(ComputeBudget.For(ExecutionProvider.Cpu, 16, intraOpThreads: 3)));
        Assert.Equal((1, 0), Split(ComputeBudget.For(ExecutionProvider.Cpu, 16, embedConcurrency: 1)));
        Assert.Equal((2, 8), Split(ComputeBudget.For(ExecutionProvider.Cpu, 16, intraOpThreads: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ComputeBudget.For(ExecutionProvider.Cpu, 0));
    }

    private static (int, int) Split(ComputeBudget b) => (b.EmbedConcurrency, b.IntraOpThreads);

    [Theory]
    [InlineData(1, 1)]   // one core: reading waits its turn
    [InlineData(2, 2)]   // two readers, so a slow file does not starve the two batches side by side
    [InlineData(4, 2)]
    [InlineData(16, 8)]
    public void Files_are_read_side_by_side_one_reader_per_two_cores_and_at_least_two(int cores, int readers)
    {
        Assert.Equal(readers, ComputeBudget.For(ExecutionProvider.Cpu, cores).ReaderCount);
        Assert.Equal(readers, ComputeBudget.For(ExecutionProvider.Cuda, cores).ReaderCount);
        Assert.Equal(5, ComputeBudget.For(ExecutionProvider.Cpu, cores, readerCount: 5).ReaderCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => ComputeBudget.For(ExecutionProvider.Cpu, cores, readerCount: 0));
    }

    [Fact]
    public void Tools_and_samples_take_their_threads_from_the_budget_not_their_own_arithmetic()
    {
        var offenders = new[] { Path.Combine(Repo.Root, "src", "SSL4Eco.Cli"), Path.Combine(Repo.Root, "samples") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => File.ReadAllText(f).Contains("Environment.ProcessorCount", StringComparison.Ordinal))
            .ToArray();
        Assert.True(offenders.Length == 0, "thread arithmetic outside ComputeBudget: " + string.Join(", ", offenders));
    }
}
