using BenchmarkDotNet.Running;

// Runs any benchmark class in this assembly: dotnet run -c Release --project benchmarks/SSL4Eco.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;
