using System.Net;
using System.Net.Sockets;

namespace SSL4Eco.Inference.Tests.Registry;

/// <summary>A tiny HTTP server on 127.0.0.1 serving one byte array, honouring <c>Range: bytes=N-</c>.</summary>
public sealed class LocalWeightsServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly byte[] _content;

    public LocalWeightsServer(byte[] content, bool honourRange = true)
    {
        _content = content;
        HonourRange = honourRange;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public int Port { get; }
    public bool HonourRange { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public List<(string Path, string? Range)> Requests { get; } = [];
    private long _bytesSent;

    /// <summary>Body bytes the server has handed to the socket (counted before each write, see <see cref="Serve"/>).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            var range = ctx.Request.Headers["Range"];
            lock (Requests) Requests.Add((ctx.Request.Url!.AbsolutePath, range));
            try
            {
                if (!ctx.Request.Url.AbsolutePath.EndsWith(".ckpt", StringComparison.Ordinal))
                {
                    ctx.Response.StatusCode = 404;
                    ctx.Response.Close();
                    continue;
                }
                long from = 0;
                if (HonourRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
                    from = long.Parse(range["bytes=".Length..].TrimEnd('-'));
                if (from >= _content.Length && from > 0)
                {
                    ctx.Response.StatusCode = 416;
                    ctx.Response.Close();
                    continue;
                }
                if (from > 0)
                {
                    ctx.Response.StatusCode = 206;
                    ctx.Response.Headers["Content-Range"] = $"bytes {from}-{_content.Length - 1}/{_content.Length}";
                }
                ctx.Response.ContentLength64 = _content.Length - from;
                // Count before writing: the client returns as soon as it has read the body, which can be before this
                // loop resumes after the write, so a count made after the write raced the test's assertion (issue #9:
                // "Expected: 176544, Actual: 0" on a loaded machine). Counted first, it is visible before any byte is.
                Interlocked.Add(ref _bytesSent, _content.Length - from);
                await ctx.Response.OutputStream.WriteAsync(_content.AsMemory((int)from));
                ctx.Response.Close();
            }
            catch (Exception) { /* client went away */ }
        }
    }

    public void Dispose()
    {
        // Close alone: on Unix, Close after Stop re-binds the port to remove its prefixes again and can fail with
        // "Address already in use" when another test has taken the port meanwhile (seen in a full run).
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
