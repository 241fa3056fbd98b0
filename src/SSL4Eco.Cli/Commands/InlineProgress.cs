namespace SSL4Eco.Cli.Commands;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports on the calling thread, at once. <see cref="Progress{T}"/> posts to the thread
/// pool in a console app, so its lines could arrive after the command has returned (and out of order).
/// </summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
